// Where the PostgreSQL tests find migrations: the repository's own (both dialects), or a
// test's files in a temporary directory.

import FeedbaseModel
import Foundation

enum Migrations {
    /// The repository's migrations/ (SQLite's).
    static var shipped: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("migrations").path
    }

    /// The repository's migrations/postgres/.
    static var shippedPostgres: String { shipped + "/postgres" }

    /// A fresh directory holding `files` (name → SQL); removed by `remove`.
    static func directory(_ files: [String: String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-pg-migrations-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, sql) in files { try sql.write(toFile: path + "/" + name, atomically: true, encoding: .utf8) }
        return path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }
}
