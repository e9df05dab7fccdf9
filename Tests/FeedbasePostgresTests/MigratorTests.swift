// The PostgreSQL migrator against a real server: files applied once each however many nodes
// start together, a changed applied file refused, a failing file rolled back whole, and the
// change log installed for what the files leave.

import FeedbaseModel
import FeedbasePostgres
import Logging
import PostgresNIO
import Testing

@Suite(.needsPostgres)
struct PostgresMigratorTests {
    let logger = Logger(label: "test")

    @Test func threeNodesMigratingTogetherApplyEachFileOnce() async throws {
        let database = try await freshDatabase()
        let files = try MigrationDirectory.files(in: Migrations.shippedPostgres)
        #expect(files.map(\.name) == ["0001_projects_and_tasks.sql", "0002_comments.sql"])
        // Each migrator on its own client, as three nodes would be.
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await withClient(database, connections: 1) { client in
                        try await client.withConnection { connection in
                            try await PostgresMigrator().migrate(files, on: connection, logger: logger)
                        }
                    }
                }
            }
            var all: [[String]] = []
            for try await names in group { all.append(names) }
            return all
        }
        // One node applied both files, the others none.
        #expect(applied.sorted { $0.count > $1.count } == [files.map(\.name), [], []])
        try await withClient(database) { client in
            let rows = try await client.query("SELECT name, count(*) OVER () FROM _migrations ORDER BY version", logger: logger)
            var names: [String] = []
            for try await (name, count) in rows.decode((String, Int64).self) {
                names.append(name)
                #expect(count == 2)
            }
            #expect(names == files.map(\.name))
            let status = try await client.withConnection { try await PostgresMigrator().status(of: files, on: $0, logger: logger) }
            #expect(status.map(\.state) == [.applied, .applied])
            // The served tables have their change-log triggers: a write from psql is an event.
            try await client.query("INSERT INTO projects (name) VALUES ('logged')", logger: logger)
            let batch = try await PostgresFeedReader().changes(after: 0, collections: nil, limit: 10, maxBytes: 1 << 20, on: client, logger: logger)
            #expect(batch.events.count == 1)
            #expect(batch.events.first?.collection == "projects")
        }
    }

    @Test func aChangedAppliedFileIsRefused() async throws {
        let database = try await freshDatabase()
        let first = try Migrations.directory(["0001_one.sql": "CREATE TABLE one (id bigint PRIMARY KEY);"])
        let changed = try Migrations.directory(["0001_one.sql": "CREATE TABLE one (id bigint PRIMARY KEY, x text);"])
        defer {
            Migrations.remove(first)
            Migrations.remove(changed)
        }
        try await withClient(database) { client in
            try await client.withConnection { connection in
                try await PostgresMigrator().migrate(try MigrationDirectory.files(in: first), on: connection, logger: logger)
                let error = await #expect(throws: StoreError.self) {
                    try await PostgresMigrator().migrate(try MigrationDirectory.files(in: changed), on: connection, logger: logger)
                }
                #expect(error?.kind == .migration)
                #expect(error?.message.contains("0001_one.sql was changed after it was applied") == true)
                // The lock was released: the original files still migrate (to nothing).
                #expect(try await PostgresMigrator().migrate(try MigrationDirectory.files(in: first), on: connection, logger: logger) == [])
            }
        }
    }

    @Test func aFailingFileIsRolledBackWholeAndNamed() async throws {
        let database = try await freshDatabase()
        let directory = try Migrations.directory([
            "0001_one.sql": "CREATE TABLE one (id bigint PRIMARY KEY);\nINSERT INTO one VALUES (1);",
            "0002_bad.sql": "CREATE TABLE two (id bigint PRIMARY KEY);\nINSERT INTO one VALUES (1);",
        ])
        defer { Migrations.remove(directory) }
        try await withClient(database) { client in
            try await client.withConnection { connection in
                let error = await #expect(throws: StoreError.self) {
                    try await PostgresMigrator().migrate(try MigrationDirectory.files(in: directory), on: connection, logger: logger)
                }
                #expect(error?.message.hasPrefix("migration 0002_bad.sql failed and was rolled back: duplicate key") == true, "\(String(describing: error))")
                let rows = try await connection.query(
                    "SELECT to_regclass('two') IS NULL, (SELECT count(*) FROM _migrations), (SELECT count(*) FROM one)", logger: logger)
                for try await (noTwo, applied, ones) in rows.decode((Bool, Int64, Int64).self) {
                    #expect(noTwo)
                    #expect(applied == 1)
                    #expect(ones == 1)
                }
            }
        }
    }
}
