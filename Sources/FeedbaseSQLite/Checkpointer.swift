// WAL checkpoints on a thread of their own, so the writer never pays for one.
//
// By default SQLite checkpoints inside the COMMIT that takes the WAL past 1,000 pages: that one
// commit copies the WAL into the database file and fsyncs it, and every write queued behind it
// waits (bench/checkpoint.sh measures the pause). Here the writer's WAL hook only counts pages
// (which replaces SQLite's automatic checkpoint: both use the one hook), and past `pages` it wakes
// the checkpointer, whose own connection runs `PRAGMA wal_checkpoint(PASSIVE)`, again every
// quarter of `pages`: PASSIVE takes no lock a writer or reader needs, so commits go on while it
// copies. At twice `pages` the writer finishes the copy itself (docs/DESIGN.md says why). SQLite restarts the WAL from
// its beginning at the first write after a complete checkpoint, and `journal_size_limit` then
// truncates a file that an unusual burst had grown.

import CoreMetrics
import FeedbaseCSQLite
import FeedbaseModel
import Foundation

/// What the writer's WAL hook tells the checkpointer; the hook runs on the writer thread, the
/// checkpoint on the checkpointer's.
final class CheckpointSignal: @unchecked Sendable {
    // NSCondition: the checkpointer thread blocks on it (a Mutex cannot be waited on).
    private let condition = NSCondition()
    private var requested = false
    private var closed = false
    let pages: Int32
    /// The WAL size at which the next checkpoint is asked for (writer thread only): one every
    /// quarter of `pages` past the first, not one per commit, so the checkpointer's fsyncs of the
    /// database file do not crowd the writer's of the WAL.
    private var nextAt: Int32
    /// Counts the checkpoints the writer finishes itself (past twice `pages`).
    let writerCheckpoints: Counter

    init(pages: Int32, writerCheckpoints: Counter) {
        self.pages = pages
        self.writerCheckpoints = writerCheckpoints
        nextAt = pages
    }

    /// Called by the WAL hook after each commit with the WAL's size in pages.
    func committed(walPages: Int32) {
        if walPages < nextAt - pages / 4 { nextAt = max(pages, walPages + pages / 4) }  // the WAL restarted
        guard walPages >= nextAt else { return }
        nextAt = walPages + max(1, pages / 4)
        condition.lock()
        requested = true
        condition.signal()
        condition.unlock()
    }

    /// Blocks until a checkpoint is wanted; false once closed.
    func next() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !requested && !closed { condition.wait() }
        requested = false
        return !closed
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

enum Checkpointer {
    /// The WAL file is cut back to this after a checkpoint lets SQLite restart it.
    static let walSizeLimit = 64 << 20

    /// Makes `writer` count WAL pages for `signal` instead of checkpointing in its commits. The
    /// hook holds the signal unretained: the writer thread keeps it until `uninstall`.
    static func install(on writer: Connection, signal: CheckpointSignal) throws {
        try writer.execute("PRAGMA journal_size_limit=\(walSizeLimit)")
        sqlite3_wal_hook(writer.handle, { context, db, _, pages in
            guard let context else { return SQLITE_OK }
            let signal = Unmanaged<CheckpointSignal>.fromOpaque(context).takeUnretainedValue()
            signal.committed(walPages: pages)
            // Under writes that never pause, a passive checkpoint elsewhere never sees the last
            // frame, so SQLite never restarts the WAL and it grows (seen: 38 MiB in a minute of
            // PATCH). Past twice the threshold the writer finishes the copy itself, as SQLite's
            // own hook would at the threshold: little is left to copy by then.
            if pages >= 2 * signal.pages {
                _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                signal.writerCheckpoints.increment()
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(signal).toOpaque())
    }

    /// Removes the hook; `signal` is the one installed, passed so the caller holds it until now.
    static func uninstall(from writer: Connection, signal: CheckpointSignal) {
        withExtendedLifetime(signal) { _ = sqlite3_wal_hook(writer.handle, nil, nil) }
    }

    /// The checkpointer thread's loop, on its own connection.
    /// `counted`: each checkpoint run is counted there.
    static func run(_ connection: Connection, signal: CheckpointSignal, counted: Counter) {
        while signal.next() {
            // A failure (the disk full, another process's RESTART checkpoint holding the lock)
            // leaves the WAL as it is; the next commit past the threshold asks again.
            _ = try? connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            counted.increment()
        }
    }
}
