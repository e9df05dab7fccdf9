// What the document suites share: a schema opened the way the server opens it (the shipped
// migrations, or a test's own SQL), and a look into a document's operations.

import FeedbaseModel
import FeedbaseSQLite
import Foundation
import Logging

@testable import FeedbaseOpenAPI

protocol DocumentTesting {}

extension DocumentTesting {
    /// The schema the store introspects from `sql`, or from the shipped migrations.
    static func schema(sql: String? = nil) async throws -> Schema {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-openapi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var migrations = shippedMigrations
        if let sql {
            migrations = directory + "/migrations"
            try FileManager.default.createDirectory(atPath: migrations, withIntermediateDirectories: true)
            try sql.write(toFile: migrations + "/0001_test.sql", atomically: true, encoding: .utf8)
        }
        var logger = Logger(label: "feedbase-test")
        logger.logLevel = .warning
        let store = try SQLiteStore(StoreConfiguration(path: directory + "/test.sqlite", migrationsDirectory: migrations, readers: 1), logger: logger)
        let schema = store.schema
        await store.close()
        return schema
    }

    /// The repository's own migrations/ directory.
    static var shippedMigrations: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("migrations").path
    }

    static func operation(_ document: DocumentValue, _ path: String, _ method: String) -> DocumentValue? {
        document["paths"]?[path]?[method]
    }

    static func statuses(_ document: DocumentValue, _ path: String, _ method: String) -> [String] {
        operation(document, path, method)?["responses"]?.keys ?? []
    }
}
