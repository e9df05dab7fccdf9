// How filters and rules on integer, number, string and date columns are served, read from
// SQLite's own plan: comparing the value as read (docs/SCHEMA.md, "Values other programs
// write") keeps them on the column's index, `is.null` included (an infinity reads as null: a
// second lookup), beside a boolean condition that no index serves.

import FeedbaseTestSupport
import Logging
import Testing

@testable import FeedbaseStore

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
}
