// SQLiteStore's change log and health, as the feed and the operators' routes ask for them:
// pages of events on the reader pool, commit notifications from the writer, pruning in small
// write jobs.

import FeedbaseModel

extension SQLiteStore {
    public func changes(after seq: Int64, collections: Set<String>?, limit: Int, maxBytes: Int) async throws -> ChangeBatch {
        try await database.read { connection in
            try ChangeLog.batch(after: seq, collections: collections, limit: limit, maxBytes: maxBytes, on: connection)
        }
    }

    public func observeCommits(_ observer: @escaping @Sendable () -> Void) {
        database.commitObservers.add(observer)
    }

    public func pruneChanges(olderThan age: Duration?, keep: Int?) async throws -> Int {
        let before = age.map { age -> String in
            let (seconds, attoseconds) = age.components
            let milliseconds = Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
            return Timestamp.format(millisecondsSince1970: Int(TimeOrderedIDGenerator.currentMilliseconds()) - milliseconds)
        }
        guard before != nil || keep != nil else { return 0 }
        // Only ever a prefix of the log goes, so that `oldest` tells a reader whether it missed
        // anything: up to the newest event older than the cutoff (a clock that stepped back
        // cannot leave a hole), or all but the newest `keep`.
        let bound = try await database.read { connection -> Int64 in
            var bound: Int64 = 0
            if let before {
                bound = try connection.scalarInt("SELECT max(seq) FROM _changes WHERE at < ?1", [.text(before)]) ?? 0
            }
            if let keep {
                let head = try ChangeLog.head(on: connection)
                bound = max(bound, head - Int64(clamping: keep))
            }
            return bound
        }
        guard bound > 0 else { return 0 }
        var deleted = 0
        // Small batches, each its own write job: a prune never holds the writer for long.
        for _ in 0..<10_000 {
            let count = try await database.write { connection -> Int in
                try connection.run(
                    "DELETE FROM _changes WHERE seq IN (SELECT seq FROM _changes WHERE seq <= ?1 ORDER BY seq LIMIT 500)", [.integer(bound)])
            }
            deleted += count
            if count < 500 { break }
        }
        return deleted
    }

    public func isHealthy() async -> Bool {
        (try? await database.read { connection in try connection.scalarInt("SELECT count(*) FROM sqlite_schema") }) != nil
    }

    /// A write job that writes nothing: it runs in the writer's `BEGIN IMMEDIATE` (so the write
    /// lock was had within the busy timeout) and commits an empty transaction, which touches no
    /// page; the file must not have been opened read-only.
    public func isWritable() async -> Bool {
        (try? await database.write { connection in !connection.isReadOnly }) ?? false
    }
}
