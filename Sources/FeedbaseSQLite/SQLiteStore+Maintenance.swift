// `feedbase backup` and `feedbase check`, on their own connection beside a running server: a
// consistent copy of a live database (VACUUM INTO reads one snapshot, so the copy holds every
// row and the change log up to one seq, never half a write), and the integrity checks with the
// change log's range.

import FeedbaseModel
import Foundation

/// What `feedbase check` found.
public struct CheckReport: Sendable {
    /// `PRAGMA integrity_check`'s lines: ["ok"] when the file is sound.
    public var integrity: [String]
    /// Rows whose foreign keys name nothing (`PRAGMA foreign_key_check`), as "table rowid → parent".
    public var foreignKeys: [String]
    /// The oldest and newest event kept, and the log's head (nil without a change log).
    public var oldestSeq: Int64?
    public var newestSeq: Int64?
    public var head: Int64?
    public var events: Int64

    public var isSound: Bool { integrity == ["ok"] && foreignKeys.isEmpty }
}

extension SQLiteStore {
    /// Copies the database at `path` to `destination` (which must not exist) as of one snapshot;
    /// returns the change log's head in the copy.
    @discardableResult
    public static func backup(path: String, to destination: String) throws -> Int64 {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(.storage, "no database at \(path)") }
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw StoreError(.storage, "\(destination) exists; a backup goes to a new file")
        }
        // Not query_only: SQLite counts VACUUM INTO as a write, though it changes only the copy.
        var options = ConnectionOptions()
        options.readOnlyFileAllowed = true  // VACUUM INTO only reads the source
        let connection = try Connection(path: path, options: options)
        try connection.run("VACUUM INTO ?1", [.text(destination)])
        let copy = try Connection(path: destination, options: ConnectionOptions(queryOnly: true))
        return try ChangeLog.exists(on: copy) ? try ChangeLog.head(on: copy) : 0
    }

    public static func check(path: String) throws -> CheckReport {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(.storage, "no database at \(path)") }
        let connection = try Connection(path: path, options: ConnectionOptions(queryOnly: true))
        let integrity = try connection.query("PRAGMA integrity_check") { $0.text(0) ?? "" }
        let foreignKeys = try connection.query("PRAGMA foreign_key_check") { row in
            "\(row.text(0) ?? "?") \(row.text(1) ?? "?") → \(row.text(2) ?? "?")"
        }
        var report = CheckReport(integrity: integrity, foreignKeys: foreignKeys, events: 0)
        if try ChangeLog.exists(on: connection) {
            let range = try connection.query("SELECT min(seq), max(seq), count(*) FROM _changes") { row in
                (row.isNull(0) ? nil : row.int64(0), row.isNull(1) ? nil : row.int64(1), row.int64(2))
            }.first
            report.oldestSeq = range?.0 ?? nil
            report.newestSeq = range?.1 ?? nil
            report.events = range?.2 ?? 0
            report.head = try ChangeLog.head(on: connection)
        }
        return report
    }
}
