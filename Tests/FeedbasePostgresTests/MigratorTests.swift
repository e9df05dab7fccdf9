// The PostgreSQL migrator against a real server: files applied once each however many nodes
// start together, a changed applied file refused, a failing file rolled back whole, and the
// change log installed for what the files leave.

import FeedbaseModel
import Foundation
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

    /// SQLite's migrator logs the rows a file writes into a table it creates (its triggers are
    /// made anew after each CREATE); PostgreSQL's logs each row such a table holds when the file
    /// ends as a `create`, parents first, in key order, in the file's own commit: the events a
    /// subscriber replays to reach the table. Rows written into a table that existed before are
    /// logged by its triggers as any write; an unserved table's rows are not logged.
    @Test func rowsAFileLeavesInATableItCreatesAreLoggedAsCreated() async throws {
        let database = try await freshDatabase()
        let directory = try Migrations.directory([
            "0001_one.sql": """
                CREATE TABLE tasks_first (id bigint PRIMARY KEY);
                CREATE TABLE projects (id bigint PRIMARY KEY, name text NOT NULL);
                CREATE TABLE tasks (id bigint PRIMARY KEY, project_id bigint REFERENCES projects, title text);
                CREATE TABLE scratch (n integer);
                INSERT INTO projects VALUES (2, 'two'), (1, 'one'), (3, 'gone');
                INSERT INTO tasks VALUES (10, 2, 'a'), (5, 1, 'b');
                UPDATE projects SET name = 'uno' WHERE id = 1;
                DELETE FROM projects WHERE id = 3;
                INSERT INTO scratch VALUES (1);
                """,
            "0002_two.sql": """
                INSERT INTO projects VALUES (4, 'four');
                CREATE TABLE notes (id text PRIMARY KEY, body text);
                INSERT INTO notes VALUES ('n', 'a note');
                UPDATE tasks SET title = 'a2' WHERE id = 10;
                """,
        ])
        defer { Migrations.remove(directory) }
        try await withClient(database) { client in
            let applied = try await client.withConnection { connection in
                try await PostgresMigrator().migrate(try MigrationDirectory.files(in: directory), on: connection, logger: logger)
            }
            #expect(applied == ["0001_one.sql", "0002_two.sql"])
            let batch = try await PostgresFeedReader().changes(after: 0, collections: nil, limit: 100, maxBytes: 1 << 20, on: client, logger: logger)
            let events = try batch.events.map { event -> String in
                let object = try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
                let item = try JSONSerialization.data(withJSONObject: object["item"] ?? NSNull(), options: [.sortedKeys])
                return "\(event.seq) \(event.collection) \(object["op"] ?? "") \(object["id"] ?? "") \(String(decoding: item, as: UTF8.self))"
            }
            #expect(events == [
                #"1 projects create 1 {"id":1,"name":"uno"}"#,
                #"2 projects create 2 {"id":2,"name":"two"}"#,
                #"3 tasks create 5 {"id":5,"project_id":1,"title":"b"}"#,
                #"4 tasks create 10 {"id":10,"project_id":2,"title":"a"}"#,
                // 0002: the triggers' events in statement order, then the new table's rows.
                #"5 projects create 4 {"id":4,"name":"four"}"#,
                #"6 tasks update 10 {"id":10,"project_id":2,"title":"a2"}"#,
                #"7 notes create n {"body":"a note","id":"n"}"#,
            ])
            #expect(batch.head == 7)
            // The log goes on after them without a gap.
            try await client.query("INSERT INTO notes VALUES ('m', 'later')", logger: logger)
            let later = try await PostgresFeedReader().changes(after: 7, collections: nil, limit: 10, maxBytes: 1 << 20, on: client, logger: logger)
            #expect(later.events.map(\.seq) == [8])
        }
    }
}
