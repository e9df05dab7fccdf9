// How filters and rules on integer, number, string and date columns are served, read from
// SQLite's own plan: comparing the value as read (docs/SCHEMA.md, "Values other programs
// write") keeps them on the column's index, `is.null` included (an infinity reads as null: a
// second lookup), beside a boolean condition that no index serves.

import FeedbaseTestSupport
import Logging
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct FilterPlanTests {
    static let schema = """
        CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, shared BOOLEAN NOT NULL DEFAULT 0, level INTEGER,
            score REAL, due DATETIME);
        CREATE INDEX notes_owner ON notes (owner);
        CREATE INDEX notes_level ON notes (level);
        CREATE INDEX notes_score ON notes (score);
        CREATE INDEX notes_due ON notes (due);
        """

    @Test(arguments: [
        ("owner", FilterOperator.eq, "bob", "notes_owner (owner=?)"),
        ("level", .eq, "3", "notes_level (level=?)"),
        ("level", .in, "1,2", "notes_level (level=?)"),
        ("level", .is, "null", "notes_level (level=?)"),
        ("score", .gte, "1.5", "notes_score (score>?)"),
        ("due", .lt, "2026-01-01T00:00:00Z", "notes_due (due<?)"),
    ])
    func aFilterOnATypedColumnUsesItsIndex(column: String, op: FilterOperator, operand: String, index: String) async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("plan.sqlite")
        var configuration = StoreConfiguration(path: path, migrationsDirectory: try directory.migrations(["0001_t.sql": Self.schema]), readers: 1)
        configuration.feed = false
        let store = try SQLiteStore(configuration, logger: Logger(label: "test"))
        defer { Task { await store.close() } }
        let connection = try Connection(path: path)

        let value: Filter.Operand = switch op {
        case .in: .list(operand.split(separator: ",").map(String.init))
        case .is: .null
        default: .value(operand)
        }
        for asRule in [false, true] {
            var query = ListQuery()
            // Ordered by the column: a range ordered by the key alone is a scan in SQLite's plan
            // whatever the condition (it saves the sort).
            query.order = [Ordering(column: column)]
            // With the rule of Examples/secured's anonymous role beside it.
            query.filters = [Filter(column: "shared", op: .is, operand: .true)]
            if asRule { query.rule = [Filter(column: column, op: op, operand: value)] } else { query.filters.append(Filter(column: column, op: op, operand: value)) }
            let statement = try Listing(collection: try #require(store.schema["notes"]), query: query).pageStatement(on: connection, schema: store.schema).select
            let plan = try connection.query("EXPLAIN QUERY PLAN " + statement.text, statement.values) { $0.text(3) ?? "" }
            #expect(plan.contains { $0.hasPrefix("SEARCH notes USING") && $0.hasSuffix("INDEX " + index) }, "\(column) \(op) \(asRule ? "(rule)" : ""): \(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN notes") }, "\(plan)")
        }
    }

    /// A boolean filter on a column that leads an index: while the column holds only 0, 1 and
    /// NULL it is compared as stored, and the index serves it and the order after it (the page
    /// of the README's `done=eq.false&order=priority.desc`); once another program stores `'no'`
    /// or 2 there, the value as read is compared (no index), and the rows are still right.
    @Test func aBooleanFilterUsesItsIndexWhileTheColumnHoldsOnlyZeroAndOne() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("plan.sqlite")
        let schema = """
            CREATE TABLE tasks (id INTEGER PRIMARY KEY, done BOOLEAN, priority INTEGER);
            CREATE INDEX tasks_done_priority ON tasks (done, priority);
            """
        var configuration = StoreConfiguration(path: path, migrationsDirectory: try directory.migrations(["0001_t.sql": schema]), readers: 1)
        configuration.feed = false
        let store = try SQLiteStore(configuration, logger: Logger(label: "test"))
        defer { Task { await store.close() } }
        let connection = try Connection(path: path)
        try connection.execute("INSERT INTO tasks (done, priority) VALUES (0, 1), (1, 2), (NULL, 3), (0, 4), (1, 5)")
        let collection = try #require(store.schema["tasks"])
        #expect(collection.indexLeaders == ["done"])

        func plan(_ filter: Filter) throws -> [String] {
            var query = ListQuery()
            query.order = [Ordering(column: "priority", descending: true)]
            query.filters = [filter]
            let statement = try Listing(collection: collection, query: query).pageStatement(on: connection, schema: store.schema).select
            return try connection.query("EXPLAIN QUERY PLAN " + statement.text, statement.values) { $0.text(3) ?? "" }
        }
        func ids(_ filter: Filter) async throws -> [String] {
            var query = ListQuery()
            query.order = [Ordering(column: "priority", descending: true)]
            query.filters = [filter]
            let page = try await store.list(in: "tasks", query: query)
            let text = String(decoding: page.json, as: UTF8.self)
            return text.split(separator: "{").dropFirst().compactMap { $0.split(separator: ",").first.map(String.init) }
        }
        let filters = [
            Filter(column: "done", op: .eq, operand: .value("false")), Filter(column: "done", op: .eq, operand: .value("true")),
            Filter(column: "done", op: .is, operand: .true), Filter(column: "done", op: .is, operand: .false),
            Filter(column: "done", op: .neq, operand: .value("true")),
            Filter(column: "done", op: .is, negated: true, operand: .true),
        ]
        for filter in filters.prefix(4) {
            let steps = try plan(filter)
            #expect(steps.contains { $0.hasPrefix("SEARCH tasks USING") && $0.contains("tasks_done_priority (done=?)") }, "\(filter): \(steps)")
            #expect(!steps.contains { $0.contains("TEMP B-TREE") }, "\(filter): \(steps)")
        }
        #expect(try await ids(filters[0]) == [#""id":4"#, #""id":1"#])
        #expect(try await ids(filters[1]) == [#""id":5"#, #""id":2"#])
        #expect(try await ids(filters[5]) == [#""id":4"#, #""id":3"#, #""id":1"#])

        // Another program's values: 'no' reads false, 2 reads true; the index no longer decides.
        try connection.execute("INSERT INTO tasks (done, priority) VALUES ('no', 6), (2, 7), ('yes', 8)")
        #expect(try plan(filters[0]).allSatisfy { !$0.contains("(done=?)") })
        #expect(try await ids(filters[0]) == [#""id":6"#, #""id":4"#, #""id":1"#])
        #expect(try await ids(filters[1]) == [#""id":8"#, #""id":7"#, #""id":5"#, #""id":2"#])
        #expect(try await ids(filters[5]) == [#""id":6"#, #""id":4"#, #""id":3"#, #""id":1"#])
    }
}
