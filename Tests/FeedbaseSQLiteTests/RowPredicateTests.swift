// The Swift predicate of a filter against the SQL of the same filter: on random rows (values of
// every column type, NULLs, and values of another type that other programs may store, BLOBs in
// every column included) and random
// filters, plain and in nested or/and/not groups, the rows a listing returns are exactly the rows
// the predicate accepts, and a filter the listing refuses is refused by the predicate too. Many
// seeds; a failure names its seed.

import FeedbaseTestSupport
import Foundation
import Logging
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

private let schema = """
    CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, r REAL, s TEXT, b BOOLEAN, d DATETIME, j JSON, day DATE, bin BLOB, code STRING);
    """

/// Values a column may hold (as SQL literals, many of another type, as other programs store
/// them: docs/SCHEMA.md, "Values other programs write") and operands to filter with.
private let oddColumns: [(name: String, stored: [String], operands: [String], ops: [FilterOperator])] = [
    ("n", ["NULL", "-2", "0", "1", "3", "'abc'", "2.5", "'5x'", "1e20", "-0.5", "9223372036854775807", "1e999", "-1e999", "x'0001'", "x''"],
     ["-2", "0", "1", "3", "x", "2.5", "100000000000000000000", "9223372036854775807"], [.eq, .neq, .gt, .gte, .lt, .lte, .in, .is]),
    ("r", ["NULL", "-0.5", "0", "1.5", "2", "1e300", "'t'", "0.30000000000000004", "'abc'", "1e999", "-1e999", "x'41'"],
     ["1.5", "2", "-0.5", "1e0", "0", "nope", "0.3", "0.30000000000000004"], [.eq, .neq, .gt, .gte, .lt, .lte, .in, .is]),
    ("s", ["NULL", "'a'", "'ab'", "'A'", "''", "'a%b'", "'a_b'", "'é'", "'É'", "7", "'b*'", "1e999", "x'61'", "x'c3a9'", "x'ff00'", "x''"],
     ["a", "ab", "A", "", "a*", "*b", "*", "A*", "a?b", "%", "a_b", "é*", "É", "7", "*%*"], [.eq, .neq, .gt, .lt, .like, .ilike, .in, .is]),
    ("b", ["NULL", "0", "1", "2", "-1", "0.5", "'false'", "'no'", "''", "'true'", "'1'", "'T'", "'yes'", "'maybe'", "'0'", "x'74'", "x'6e6f'"],
     ["true", "false", "maybe"], [.eq, .neq, .is, .in]),
    ("d", ["NULL", "'2026-01-01T00:00:00.000Z'", "'2026-06-01T10:00:00.000Z'", "'yesterday'", "'2026-01-01 10:00:00'", "20260101", "''", "1e999", "-1e999", "x'32303236'"],
     ["2026-01-01T00:00:00Z", "2026-06-01T12:00:00+02:00", "2026-03-01T00:00:00.000Z", "yesterday"], [.eq, .neq, .gt, .lte, .in, .like, .ilike, .is]),
    ("j", ["NULL", "'{\"a\":1}'", "'[1,2]'", "'\"x\"'", "1", "'{\"a\": 2}'", "'hello'", "'null'", "' [1, 2] '", "2.5", "x'7b7d'", "x'6869'",
           "'\"hello\"'", "''", "'true'", "'tRue'"],
     ["{\"a\":1}", "{\"a\": 1}", "[1,2]", "\"x\"", "1", "x", "{\"a\":2}", "hello", "\"hello\"", "*ell*", "\"h*", "null", "hi", "{}", "2.5", "",
      "true", "tRue"], [.eq, .neq, .in, .like, .ilike, .is]),
    ("day", ["NULL", "'2026-01-01'", "'2026-01-02'", "'2026-1-1'", "5", "1e999", "x'0001'"], ["2026-01-01", "2026-01-02", "2026-13-01"], [.eq, .gt, .lt, .in, .like, .is]),
    ("bin", ["NULL", "x'00ff'", "x''", "'text'", "''", "5", "2.5", "x'74657874'", "'é'"],
     ["AP8=", "", "!!", "dGV4dA==", "NQ==", "Mi41", "w6k="], [.eq, .neq, .in, .is]),
    ("code", ["NULL", "'007'", "'abc'", "7", "'7.0'", "'7x'", "1e999", "x'37'"], ["007", "7", "abc", "7.0", "7x", "7*"], [.eq, .neq, .gt, .lt, .in, .like, .is]),
]

@Suite struct RowPredicateTests {
    @Test(arguments: 1...60)
    func thePredicateAcceptsExactlyTheRowsTheListingReturns(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let directory = try TemporaryDirectory()
        let migrations = try directory.migrations(["0001_t.sql": schema])
        let path = directory.file("p.sqlite")
        var configuration = StoreConfiguration(path: path, migrationsDirectory: migrations, readers: 1)
        configuration.feed = false
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let store = try SQLiteStore(configuration, logger: logger)
        defer { Task { await store.close() } }
        // Rows written as another program would: any stored value, typed or not.
        let writer = try Connection(path: path)
        for id in 1...30 {
            let values = oddColumns.map { $0.stored.randomElement(using: &random) ?? "NULL" }
            try writer.execute("INSERT INTO t (id, \(oddColumns.map(\.name).joined(separator: ", "))) VALUES (\(id), \(values.joined(separator: ", ")))")
        }
        var items: [(id: Int, json: [UInt8])] = []
        for id in 1...30 {
            if let item = try await store.item(in: "t", id: String(id)) { items.append((id, item.json)) }
        }
        func randomFilter(_ random: inout SeededGenerator) -> Filter {
            let column = oddColumns.randomElement(using: &random)!
            let op = column.ops.randomElement(using: &random)!
            let operand: Filter.Operand
            switch op {
            case .is: operand = [.null, .true, .false].randomElement(using: &random)!
            case .in: operand = .list((0..<Int.random(in: 0...3, using: &random)).map { _ in column.operands.randomElement(using: &random)! })
            default: operand = .value(column.operands.randomElement(using: &random)!)
            }
            return Filter(column: column.name, op: op, negated: Bool.random(using: &random), operand: operand)
        }
        // or/and groups, nested up to three levels, of the same random conditions.
        func randomGroup(_ random: inout SeededGenerator, depth: Int) -> FilterGroup {
            var members: [FilterGroup.Member] = []
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                if depth < 3 && Int.random(in: 0..<4, using: &random) == 0 {
                    members.append(.group(randomGroup(&random, depth: depth + 1)))
                } else {
                    members.append(.filter(randomFilter(&random)))
                }
            }
            return FilterGroup(any: Bool.random(using: &random), negated: Bool.random(using: &random), members: members, parameter: "or")
        }
        for round in 0..<40 {
            let filters = (0..<Int.random(in: 0...2, using: &random)).map { _ in randomFilter(&random) }
            let groups = (0..<Int.random(in: filters.isEmpty ? 1...2 : 0...1, using: &random)).map { _ in randomGroup(&random, depth: 1) }
            var query = ListQuery()
            query.filters = filters
            query.groups = groups
            query.limit = 1000
            let context = "seed \(seed) round \(round): \(filters) \(groups)"
            let listed: [Int]
            do {
                let page = try await store.list(in: "t", query: query)
                let rows = try JSONSerialization.jsonObject(with: Data(page.json)) as? [[String: Any]] ?? []
                listed = rows.compactMap { $0["id"] as? Int }
            } catch let error as StoreError {
                await #expect(throws: StoreError.self, "\(context): the listing refused it (\(error.message))") {
                    _ = try await store.predicate(in: "t", filters: filters, groups: groups, rule: [])
                }
                continue
            }
            let predicate = try await store.predicate(in: "t", filters: filters, groups: groups, rule: [])
            let accepted = items.filter { predicate.matches(itemJSON: $0.json) }.map(\.id)
            #expect(accepted == listed, "\(context)")
        }
    }

    /// A fuzz finding (Tests/Fuzz, FuzzQuery: `tags=like.*%00…*`): SQLite's GLOB and LIKE stop
    /// at U+0000, in the pattern and in the text. A pattern holding one is refused by both; a
    /// stored text holding one (another program's) is matched by the predicate as SQL matches it.
    @Test func aNULEndsPatternsAndTextsForTheListingAndThePredicateAlike() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("p.sqlite")
        var configuration = StoreConfiguration(path: path, migrationsDirectory: try directory.migrations(["0001_t.sql": schema]), readers: 1)
        configuration.feed = false
        let store = try SQLiteStore(configuration, logger: Logger(label: "test"))
        defer { Task { await store.close() } }
        try Connection(path: path).execute("INSERT INTO t (id, s) VALUES (1, 'a' || char(0) || 'b'), (2, 'ab')")
        for op in [FilterOperator.like, .ilike] {
            var query = ListQuery()
            query.filters = [Filter(column: "s", op: op, operand: .value("*\u{0}x*"))]
            await #expect(throws: StoreError.self) { _ = try await store.list(in: "t", query: query) }
            await #expect(throws: StoreError.self) { _ = try await store.predicate(in: "t", filters: query.filters) }
        }
        var items: [Item] = []
        for id in ["1", "2"] { if let item = try await store.item(in: "t", id: id) { items.append(item) } }
        for pattern in ["a", "a*", "*b", "ab", "A*"] {
            for op in [FilterOperator.like, .ilike] {
                var query = ListQuery()
                query.filters = [Filter(column: "s", op: op, operand: .value(pattern))]
                let page = try await store.list(in: "t", query: query)
                let rows = try JSONSerialization.jsonObject(with: Data(page.json)) as? [[String: Any]] ?? []
                let predicate = try await store.predicate(in: "t", filters: query.filters)
                #expect(items.filter { predicate.matches(itemJSON: $0.json) }.map(\.id) == rows.compactMap { ($0["id"] as? Int).map(String.init) },
                    "\(op.rawValue).\(pattern)")
            }
        }
    }

    @Test func itemJSONReadsBackIntoTheValuesSQLCompares() {
        let names = ["i", "f", "s", "b", "j", "bin", "k"]
        let types: [ColumnType] = [.integer, .number, .string, .boolean, .json, .blob, .integer]
        let json = Array(#"{"i":-3,"f":1.5e-7,"s":"a\"b\u00e9\ud83d\ude00","b":true,"j":{"k":[1,"]"]},"bin":"AP8=","k":{"base64":"AAE="}}"#.utf8)
        #expect(RowImage.values(json, names: names, types: types) == [
            .integer(-3), .real(1.5e-7), .text("a\"bé😀"), .integer(1), .text(#"{"k":[1,"]"]}"#), .blob([0, 255]), .blob([0, 1]),
        ])
        #expect(RowImage.values(Array("[1]".utf8), names: names, types: types) == nil)
        #expect(RowImage.values(Array(#"{"i":1"#.utf8), names: names, types: types) == nil)
    }
}
