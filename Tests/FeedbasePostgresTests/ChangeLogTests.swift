// The PostgreSQL change log against a real server: what each write logs, the commit ticket's
// numbering under rollbacks and savepoints, and the reader's pages.

import FeedbaseModel
import FeedbasePostgres
import FeedbaseTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite(.needsPostgres)
struct ChangeLogTests {
    let logger = Logger(label: "test")

    @Test func eachWriteLogsItsEventWithTheRowAsJSON() async throws {
        let events = try await withLoggedTable { client, reader in
            try await client.query("INSERT INTO items (id, title, version) VALUES (1, 'one', 0), (2, 'two', 0)")
            try await client.query("UPDATE items SET version = version + 1 WHERE id = 1")
            try await client.query("UPDATE items SET version = version WHERE id = 2")  // changes nothing: no event
            try await client.query("DELETE FROM items WHERE id = 2")
            return try await reader.changes(after: 0, collections: nil, limit: 100, maxBytes: 1 << 20, on: client, logger: logger)
        }
        #expect(events.head == 4)
        #expect(events.reached == 4)
        #expect(events.oldest == 1)
        #expect(events.events.map(\.seq) == [1, 2, 3, 4])
        let shapes = try events.events.map { try EventShape($0) }
        #expect(shapes.map(\.op) == ["create", "create", "update", "delete"])
        #expect(shapes.map(\.id) == ["1", "2", "1", "2"])
        #expect(shapes[2].item == #"{"id":1,"title":"one","version":1}"#)
        #expect(events.events[2].previous.map { String(decoding: $0, as: UTF8.self) } == #"{"id":1,"title":"one","version":0}"#)
        #expect(shapes[3].item == #"{"id":2,"title":"two","version":0}"#)
    }

    @Test func aNewKeyIsADeleteThenACreate() async throws {
        let batch = try await withLoggedTable { client, reader in
            try await client.query("INSERT INTO items (id, title, version) VALUES (1, 'one', 0)")
            try await client.query("UPDATE items SET id = 7 WHERE id = 1")
            return try await reader.changes(after: 1, collections: nil, limit: 100, maxBytes: 1 << 20, on: client, logger: logger)
        }
        let shapes = try batch.events.map { try EventShape($0) }
        #expect(batch.events.map(\.seq) == [2, 3])
        #expect(shapes.map(\.op) == ["delete", "create"])
        #expect(shapes.map(\.id) == ["1", "7"])
    }

    @Test func rolledBackWorkTakesNoSeq() async throws {
        let batch = try await withLoggedTable { client, reader in
            try await client.query("INSERT INTO items (id, title, version) VALUES (1, 'one', 0)")
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                try await connection.query("INSERT INTO items (id, title, version) VALUES (2, 'gone', 0)", logger: logger)
                try await connection.query("ROLLBACK", logger: logger)
                // A savepoint rolled back inside a committed transaction, and the transaction's
                // first event inside it: the next event opens the ticket's range again.
                try await connection.query("BEGIN", logger: logger)
                try await connection.query("SAVEPOINT s", logger: logger)
                try await connection.query("INSERT INTO items (id, title, version) VALUES (3, 'gone', 0)", logger: logger)
                try await connection.query("ROLLBACK TO SAVEPOINT s", logger: logger)
                try await connection.query("INSERT INTO items (id, title, version) VALUES (4, 'four', 0)", logger: logger)
                try await connection.query("SAVEPOINT t", logger: logger)
                try await connection.query("INSERT INTO items (id, title, version) VALUES (5, 'gone', 0)", logger: logger)
                try await connection.query("ROLLBACK TO SAVEPOINT t", logger: logger)
                try await connection.query("INSERT INTO items (id, title, version) VALUES (6, 'six', 0)", logger: logger)
                try await connection.query("COMMIT", logger: logger)
            }
            return try await reader.changes(after: 0, collections: nil, limit: 100, maxBytes: 1 << 20, on: client, logger: logger)
        }
        #expect(batch.events.map(\.seq) == [1, 2, 3])
        #expect(try batch.events.map { try EventShape($0).id } == ["1", "4", "6"])
        #expect(batch.head == 3)
    }

    @Test func aTicketTakenEarlyLeavesLaterEventsTheirOwn() async throws {
        // SET CONSTRAINTS ALL IMMEDIATE fires the deferred ticket at once; the events after it
        // need a ticket of their own, still in order and without a gap.
        let batch = try await withLoggedTable { client, reader in
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                try await connection.query("INSERT INTO items (id, title, version) VALUES (1, 'one', 0)", logger: logger)
                try await connection.query("SET CONSTRAINTS ALL IMMEDIATE", logger: logger)
                try await connection.query("INSERT INTO items (id, title, version) VALUES (2, 'two', 0), (3, 'three', 0)", logger: logger)
                try await connection.query("COMMIT", logger: logger)
            }
            try await client.query("INSERT INTO items (id, title, version) VALUES (4, 'four', 0)")
            return try await reader.changes(after: 0, collections: nil, limit: 100, maxBytes: 1 << 20, on: client, logger: logger)
        }
        #expect(batch.events.map(\.seq) == [1, 2, 3, 4])
        #expect(try batch.events.map { try EventShape($0).id } == ["1", "2", "3", "4"])
    }

    @Test func pagesStopAtTheirCountAndBytesAndFilterCollections() async throws {
        _ = try await withLoggedTable(extra: "CREATE TABLE others (id text PRIMARY KEY)") { client, reader in
            for id in 1...5 { try await client.query("INSERT INTO items (id, title, version) VALUES (\(id), 'x', 0)") }
            try await client.query("INSERT INTO others (id) VALUES ('a')")
            let first = try await reader.changes(after: 0, collections: nil, limit: 2, maxBytes: 1 << 20, on: client, logger: logger)
            #expect(first.events.map(\.seq) == [1, 2])
            #expect(first.reached == 2)
            #expect(first.head == 6)
            let small = try await reader.changes(after: 2, collections: nil, limit: 100, maxBytes: 1, on: client, logger: logger)
            #expect(small.events.map(\.seq) == [3])
            #expect(small.reached == 3)
            let others = try await reader.changes(after: 0, collections: ["others"], limit: 100, maxBytes: 1 << 20, on: client, logger: logger)
            #expect(others.events.map(\.seq) == [6])
            #expect(others.reached == 6)
            let none = try await reader.changes(after: 6, collections: nil, limit: 100, maxBytes: 1 << 20, on: client, logger: logger)
            #expect(none.events.isEmpty)
            #expect(none.reached == 6)
        }
    }

    @Test func truncateIsRefusedRatherThanLeftUnlogged() async throws {
        _ = try await withLoggedTable { client, _ in
            await #expect(throws: PSQLError.self) { try await client.query("TRUNCATE items") }
        }
    }

    @Test func theViewShowsTheLogInSQLitesShape() async throws {
        try await withLoggedTable { client, _ in
            try await client.query("INSERT INTO items (id, title, version) VALUES (1, 'one', 0)")
            try await client.query("UPDATE items SET title = 'uno' WHERE id = 1")
            var rows: [String] = []
            for try await row in try await client.query("SELECT seq || ' ' || op || ' ' || item_id FROM _changes ORDER BY seq").decode(String.self) {
                rows.append(row)
            }
            #expect(rows == ["1 create 1", "2 update 1"])
        }
    }

    @Test func nodesInstallingTogetherLeaveOneWorkingLog() async throws {
        let database = try await freshDatabase()
        let batch = try await withClient(database, connections: 6) { client in
            try await client.query("CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL, version integer NOT NULL)")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await installLog(client, tables: ["items"], logger: logger) } }
                try await group.waitForAll()
            }
            try await client.query("INSERT INTO items (id, title, version) VALUES (1, 'one', 0)")
            try await installLog(client, tables: ["items"], logger: logger)  // a node restarting later
            try await client.query("INSERT INTO items (id, title, version) VALUES (2, 'two', 0)")
            return try await PostgresFeedReader().changes(after: 0, collections: nil, limit: 10, maxBytes: 1 << 20, on: client, logger: logger)
        }
        // One event per write: no trigger was installed twice.
        #expect(batch.events.map(\.seq) == [1, 2])
        #expect(try batch.events.map { try EventShape($0).id } == ["1", "2"])
    }

    /// A fresh database with `items (id bigint PRIMARY KEY, title text, version int)` (and
    /// `extra`), its log installed.
    func withLoggedTable<Result: Sendable>(
        extra: String? = nil, _ body: @Sendable (PostgresClient, PostgresFeedReader) async throws -> Result
    ) async throws -> Result {
        let database = try await freshDatabase()
        return try await withClient(database) { client in
            try await client.query("CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL, version integer NOT NULL)")
            var names = ["items"]
            if let extra {
                try await client.query(PostgresQuery(unsafeSQL: extra))
                names.append("others")
            }
            try await installLog(client, tables: names, logger: logger)
            return try await body(client, PostgresFeedReader())
        }
    }
}

/// Installs the change log and the triggers of `tables`, read from the catalog.
func installLog(_ client: PostgresClient, tables names: [String], logger: Logger) async throws {
    try await client.withConnection { connection in
        var tables: [PostgresTable] = []
        for name in names {
            guard let table = try await PostgresTable.read(name, on: connection, logger: logger) else {
                throw ChildProcessError("no table \(name) with a one-column primary key")
            }
            tables.append(table)
        }
        try await PostgresChangeLog().install(tables, on: connection, logger: logger)
    }
}

/// An event's parts, read back from its JSON text by the shape the reader writes.
struct EventShape {
    var op: String
    var id: String
    var item: String

    init(_ event: ChangeEvent) throws {
        let json = String(decoding: event.json, as: UTF8.self)
        func between(_ start: String, _ end: String) throws -> String {
            guard let from = json.range(of: start), let to = json.range(of: end, range: from.upperBound..<json.endIndex) else {
                throw ChildProcessError("unexpected event \(json)")
            }
            return String(json[from.upperBound..<to.lowerBound])
        }
        op = try between(#""op":""#, #"""#)
        id = try between(#""id":""#, #"""#)
        item = try between(#""item":"#, #","at":""#)
    }
}
