// Migrations on a database whose change log is on: each file may drop, rename or rebuild what
// the triggers name (they are dropped before each schema change and made anew after it, in the
// file's transaction); a
// table rebuilt by SQLite's 12-step procedure keeps the rows that reference it; a failing file
// leaves the old triggers; a log made by an earlier version is upgraded in place and its
// triggers no longer call a function of ours.

import FeedbaseTestSupport
import Foundation
import Logging
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct MigrationTriggerTests {
    let directory: TemporaryDirectory
    let database: String

    init() throws {
        directory = try TemporaryDirectory()
        database = directory.file("app.sqlite")
    }

    /// Opens the store as `serve` does (which installs the triggers), then closes it.
    func serveOnce(_ migrations: String) async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let store = try SQLiteStore(StoreConfiguration(path: database, migrationsDirectory: migrations, readers: 1), logger: logger)
        await store.close()
    }

    func triggerSQL(_ connection: Connection) throws -> [String] {
        try connection.query("SELECT sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY name") { $0.text(0) ?? "" }
    }

    @Test func everyKindOfSchemaChangeAppliesUnderTheTriggersAndTheLogFollows() async throws {
        let migrations = try directory.migrations([
            "0001_schema.sql": """
                CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT NOT NULL, old TEXT);
                CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parents(id) ON DELETE CASCADE, note TEXT);
                CREATE TABLE scratch (id INTEGER PRIMARY KEY, x TEXT);
                """
        ])
        try await serveOnce(migrations)
        let connection = try Connection(path: database)
        try connection.execute("INSERT INTO parents (id, name, old) VALUES (1, 'p', 'o'); INSERT INTO children (parent_id, note) VALUES (1, 'c')")
        try directory.migrations([
            "0002_columns.sql": """
                ALTER TABLE parents ADD COLUMN added INTEGER;
                ALTER TABLE parents DROP COLUMN old;
                ALTER TABLE children RENAME COLUMN note TO text;
                DROP TABLE scratch;
                """,
            // SQLite's 12-step rebuild of a table that others reference.
            "0003_rebuild.sql": """
                CREATE TABLE parents_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (length(name) > 0), added INTEGER);
                INSERT INTO parents_new (id, name, added) SELECT id, name, added FROM parents;
                DROP TABLE parents;
                ALTER TABLE parents_new RENAME TO parents;
                """,
        ])
        #expect(try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) == ["0002_columns.sql", "0003_rebuild.sql"])
        // The rebuild did not cascade into the children; the triggers match the new shapes.
        #expect(try connection.scalarInt("SELECT count(*) FROM children") == 1)
        // The copy the rebuild wrote into parents_new, a table gone by the end of the file, left
        // no events: no client can hold its rows.
        #expect(try connection.scalarInt("SELECT count(*) FROM _changes WHERE collection NOT IN ('parents', 'children')") == 0)
        #expect(try triggerSQL(connection).count == 8)
        #expect(try triggerSQL(connection).allSatisfy { !$0.contains("scratch") && !$0.contains("\"old\"") && !$0.contains("feedbase_base64") })
        let before = try connection.scalarInt("SELECT max(seq) FROM _changes") ?? 0
        try connection.execute("UPDATE children SET text = 'moved' WHERE id = 1; INSERT INTO parents (name, added) VALUES ('q', 7)")
        let items = try connection.query("SELECT item FROM _changes WHERE seq > ?1 ORDER BY seq", [.integer(before)]) { $0.text(0) ?? "" }
        #expect(items == [#"{"id":1,"parent_id":1,"text":"moved"}"#, #"{"id":2,"name":"q","added":7}"#])
    }

    @Test func aFailingMigrationKeepsTheOldTriggersAndAMigrationThatOrphansRowsFails() async throws {
        let migrations = try directory.migrations([
            "0001_schema.sql": """
                CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT);
                CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents(id));
                """
        ])
        try await serveOnce(migrations)
        let connection = try Connection(path: database)
        try connection.execute("INSERT INTO parents (id, name) VALUES (1, 'p'); INSERT INTO children (parent_id) VALUES (1)")
        let triggers = try triggerSQL(connection)
        try directory.migrations(["0002_broken.sql": "ALTER TABLE parents DROP COLUMN name; SELECT no_such_function();"])
        #expect(throws: StoreError.self) { try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) }
        #expect(try triggerSQL(connection) == triggers)
        #expect(try connection.scalarInt("SELECT count(*) FROM pragma_table_info('parents') WHERE name = 'name'") == 1)
        // Dropping a parent that rows still reference is refused, not left dangling.
        try FileManager.default.removeItem(atPath: directory.file("migrations/0002_broken.sql"))
        try directory.migrations(["0002_orphans.sql": "DELETE FROM parents;"])
        let failure = try #require(throws: StoreError.self) { try SQLiteStore.migrate(path: database, migrationsDirectory: migrations) }
        #expect(failure.message.contains("referencing a missing parent"))
        #expect(try connection.scalarInt("SELECT count(*) FROM parents") == 1)
    }

    @Test func aLogFromAnEarlierVersionIsUpgradedInPlace() async throws {
        let migrations = try directory.migrations(["0001_schema.sql": "CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB);"])
        do {
            // The log and a trigger as the previous version made them: no previous/blobs columns,
            // and a trigger calling a function only Feedbase's connections have.
            let old = try Connection(path: database)
            try old.execute("""
                CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB);
                CREATE TABLE _changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, item_id TEXT NOT NULL,
                    op TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')), item TEXT NOT NULL, at TEXT NOT NULL);
                CREATE TRIGGER _feedbase_files_create AFTER INSERT ON files BEGIN
                    INSERT INTO _changes (collection, item_id, op, item, at) VALUES ('files', NEW.id, 'create',
                    json_object('id', NEW.id, 'data', feedbase_base64(NEW.data)), 'then'); END;
                INSERT INTO files (id, data) VALUES (1, x'01');
                CREATE TABLE _migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, checksum TEXT NOT NULL, applied_at TEXT NOT NULL);
                """)
            let checksum = Checksum.sha256(Array("CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB);".utf8))
            try old.run("INSERT INTO _migrations VALUES (1, '0001_schema.sql', ?1, 'then')", [.text(checksum)])
        }
        try await serveOnce(migrations)
        let connection = try Connection(path: database)
        #expect(try connection.query("SELECT name FROM pragma_table_info('_changes')") { $0.text(0) ?? "" }.suffix(2) == ["previous", "blobs"])
        #expect(try triggerSQL(connection).allSatisfy { !$0.contains("feedbase_base64") })
        // The sqlite3 shell (no function of ours) can write again; old and new events both read.
        let shell = try await runShell(database, "INSERT INTO files (id, data) VALUES (2, x'02'); UPDATE files SET data = x'03' WHERE id = 1;")
        #expect(shell.isEmpty, "\(shell)")
        let batch = try ChangeLog.batch(after: 0, collections: nil, limit: 10, maxBytes: 1 << 20, on: connection)
        #expect(batch.events.map { String(decoding: $0.json, as: UTF8.self).contains(#""item":{"id":"#) } == [true, true, true])
        #expect(batch.events.map(\.previous).map { $0.map { String(decoding: $0, as: UTF8.self) } } == [nil, nil, #"{"id":1,"data":"AQ=="}"#])
    }
}

/// Runs the stock sqlite3 shell; returns what it printed on standard error.
private func runShell(_ database: String, _ sql: String) async throws -> String {
    try await ChildProcess.run("/usr/bin/env", ["sqlite3", "-cmd", ".timeout 5000", database, sql],
        environment: ProcessInfo.processInfo.environment).stderr
}
