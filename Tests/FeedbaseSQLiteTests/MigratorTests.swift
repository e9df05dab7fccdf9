// Migrations on real files: fresh apply, idempotent re-run, drift and numbering errors, and a
// failing migration that leaves nothing behind.

import Foundation
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct MigratorTests {
    let directory: TemporaryDirectory
    let database: String

    init() throws {
        directory = try TemporaryDirectory()
        database = directory.file("app.sqlite")
    }

    func error(_ body: () throws -> Void) -> StoreError? {
        do {
            try body()
            return nil
        } catch {
            return error as? StoreError
        }
    }

    @Test func appliesInOrderOnceAndRecordsChecksums() throws {
        let migrations = try directory.migrations([
            "0001_first.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);",
            "0002_second.sql": "ALTER TABLE a ADD COLUMN name TEXT; CREATE TABLE b (id TEXT PRIMARY KEY);",
            "README.md": "not a migration",
        ])
        #expect(try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) == ["0001_first.sql", "0002_second.sql"])
        #expect(try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) == [])

        let connection = try Connection(path: database)
        let history = try connection.query("SELECT version, name, checksum, applied_at FROM _migrations ORDER BY version") {
            [$0.text(0), $0.text(1), $0.text(2), $0.text(3)]
        }
        #expect(history.map { $0[1] } == ["0001_first.sql", "0002_second.sql"])
        #expect(history[0][2] == Checksum.sha256(Array("CREATE TABLE a (id INTEGER PRIMARY KEY);".utf8)))
        #expect(history.allSatisfy { ($0[3] ?? "").hasSuffix("Z") })

        try directory.migrations(["0003_third.sql": "CREATE TABLE c (id INTEGER PRIMARY KEY);"])
        let status = try SQLiteStore.migrationStatus(path: database, migrationsDirectory: migrations)
        #expect(status.map(\.state) == [.applied, .applied, .pending])
        #expect(try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) == ["0003_third.sql"])
    }

    @Test func anEditedAppliedFileIsRejectedByName() throws {
        let migrations = try directory.migrations(["0001_first.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);"])
        try SQLiteStore.migrate(path: database, migrationsDirectory: migrations)
        try directory.migrations(["0001_first.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);"])
        let failure = error { try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) }
        #expect(failure?.kind == .migration)
        #expect(failure?.message.contains("0001_first.sql was changed after it was applied") == true)
    }

    @Test func aMissingAppliedFileIsRejectedByName() throws {
        let migrations = try directory.migrations([
            "0001_first.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);",
            "0002_second.sql": "CREATE TABLE b (id INTEGER PRIMARY KEY);",
        ])
        try SQLiteStore.migrate(path: database, migrationsDirectory: migrations)
        try FileManager.default.removeItem(atPath: (migrations as NSString).appendingPathComponent("0002_second.sql"))
        let failure = error { try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) }
        #expect(failure?.message.contains("0002_second.sql was applied to this database but its file is missing") == true)
    }

    @Test func aFailingMigrationLeavesNothingBehind() throws {
        let migrations = try directory.migrations([
            "0001_first.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);",
            "0002_broken.sql": "CREATE TABLE b (id INTEGER PRIMARY KEY); INSERT INTO b VALUES (1); CREATE TABLE a (id INTEGER);",
        ])
        let failure = error { try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) }
        #expect(failure?.kind == .migration)
        #expect(failure?.message.contains("0002_broken.sql") == true)
        #expect(failure?.message.contains("table a already exists") == true)
        let connection = try Connection(path: database)
        #expect(try connection.scalarInt("SELECT count(*) FROM sqlite_schema WHERE name = 'b'") == 0)
        #expect(try connection.query("SELECT name FROM _migrations") { $0.text(0) } == ["0001_first.sql"])
    }

    @Test(arguments: [
        (["0001_a.sql", "0003_c.sql"], "0003_c.sql is out of sequence"),
        (["0002_b.sql"], "0002_b.sql is out of sequence"),
        (["0001_a.sql", "0001_b.sql"], "0001_a.sql and 0001_b.sql have the same number"),
        (["0001_a.sql", "2_b.sql"], "2_b.sql is not named NNNN_description.sql"),
        (["0001_a.sql", "0002.sql"], "0002.sql is not named NNNN_description.sql"),
    ])
    func numberingErrorsNameTheFile(names: [String], expected: String) throws {
        let migrations = try directory.migrations(Dictionary(uniqueKeysWithValues: names.map { ($0, "SELECT 1;") }))
        let failure = error { try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) }
        #expect(failure?.kind == .migration)
        #expect(failure?.message.contains(expected) == true, "\(failure?.message ?? "no error")")
        #expect(!FileManager.default.fileExists(atPath: database), "nothing is created when the files are wrong")
    }

    @Test func aMissingDirectoryIsAClearError() {
        let failure = error { try SQLiteStore.migrate(path: database, migrationsDirectory: directory.file("nowhere")) }
        #expect(failure?.message.contains("does not exist") == true)
    }
}
