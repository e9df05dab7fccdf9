// A fresh directory per test for real SQLite files and migration files, removed afterwards.

import Foundation

import FeedbaseModel
@testable import FeedbaseSQLite

final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("feedbase-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes `files` (name → SQL) into a subdirectory and returns its path.
    @discardableResult
    func migrations(_ files: [String: String], in name: String = "migrations") throws -> String {
        let directory = file(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (fileName, sql) in files {
            try sql.write(toFile: (directory as NSString).appendingPathComponent(fileName), atomically: true, encoding: .utf8)
        }
        return directory
    }
}

extension SQLiteStore {
    /// The one item created from an object body.
    func createOne(in collection: String, body: [UInt8]) async throws -> Item {
        let created = try await create(in: collection, body: body)
        guard created.items.count == 1, !created.isArray else { throw StoreError(.internal, "expected one item") }
        return created.items[0]
    }
}
