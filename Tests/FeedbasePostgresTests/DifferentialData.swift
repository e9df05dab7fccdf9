// Rows and listings for the engines' differential test: the example schema's projects, tasks and
// comments with values drawn from small pools (so equal sort values are common), NULLs,
// unicode, big integers and doubles; and random ListQueries over them, of every operator on
// every type, groups, orders, pages, selects and embeds, mistakes included.

import FeedbaseModel
import FeedbaseTestSupport
import Foundation

struct DifferentialData {
    /// Each row as a JSON object (the create body on SQLite, json_populate_record on PostgreSQL).
    var projects: [String] = []
    var tasks: [String] = []
    var comments: [String] = []
    var readings: [String] = []

    static let texts = ["a", "B", "b", "é", "É", "Ω", "日本", "😀", "a b", "x\"y", "back\\slash", "per%cent", "under_score", "star*", "line\nbreak",
                        "\u{1}ctl", "tab\t", "Zed", "zed", "", "a*b", "[x]", "?q"]
    static let integers: [Int64] = [0, 1, -1, 2, 3, 42, -7, Int64.max, Int64.min + 1, 9_007_199_254_740_993]
    /// Not beyond about 1e308 or below 1e-300, where SQLite's own conversions are a unit in the
    /// last place off (docs/SCHEMA.md): the engines would differ by SQLite's error.
    static let doubles: [Double] = [0, 1, -1, 0.1, 2.5, -3.75, 1e20, 1.2345e300, 6.7e-300, 3, 1234.5678, 9_007_199_254_740_992]
    static let dateTimes = ["1970-01-01T00:00:00.000Z", "2026-12-07T08:00:00.123Z", "2026-12-07T08:00:00.124Z", "1999-12-31T23:59:59.999Z", "2100-06-01T12:00:00.000Z"]
    static let dates = ["2026-01-01", "1999-12-31", "2026-12-07", "0001-01-01"]
    static let times = ["00:00:00", "12:30:00", "23:59:59", "08:15:01"]
    /// Values whose compact text jsonb writes alike (no object with a member: jsonb writes `{"a": 1}`).
    static let jsons = ["[]", "[\"a\"]", "[1]", "\"x\"", "1", "true", "{}", "\"日本\"", "-2"]
    static let blobs: [[UInt8]] = [[], [0], [1, 2, 3], [255, 254], Array("hello".utf8)]

    init(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        func pick<T>(_ pool: [T]) -> T { pool[Int.random(in: 0..<pool.count, using: &random)] }
        func maybe(_ text: String, nulls: Int = 4) -> String { Int.random(in: 0..<nulls, using: &random) == 0 ? "null" : text }
        let projectCount = Int.random(in: 2...6, using: &random)
        for id in 1...projectCount {
            projects.append(JSONText.object([
                ("id", String(id)), ("name", JSONText.quote("p\(id) " + pick(Self.texts))),
                ("description", maybe(JSONText.quote(pick(Self.texts)))), ("archived", Bool.random(using: &random) ? "true" : "false"),
                ("created_at", JSONText.quote(pick(Self.dateTimes))),
            ]))
        }
        let taskCount = Int.random(in: 0...40, using: &random)
        for id in 0..<taskCount {
            let drawn = pick(Self.texts)
            let title = drawn.isEmpty ? "t" : drawn
            tasks.append(JSONText.object([
                ("id", String(id == 0 ? Int64(1) : id == 1 ? Int64.max : Int64(id) * 1_000_003 % 9_999_991 + (id % 3 == 0 ? 4_000_000_000_000 : 0))),
                ("project_id", String(Int.random(in: 1...projectCount, using: &random))),
                ("title", JSONText.quote(title)),
                ("done", Bool.random(using: &random) ? "true" : "false"),
                ("priority", maybe(String(Int.random(in: 1...5, using: &random)))),
                ("estimate", maybe(Self.number(pick(Self.doubles)))),
                ("due", maybe(JSONText.quote(pick(Self.dateTimes)))),
                ("tags", maybe(pick(Self.jsons))),
                ("attachment", maybe(JSONText.quote(Base64.encode(pick(Self.blobs))))),
                ("created_at", JSONText.quote(pick(Self.dateTimes))),
            ]))
        }
        let taskIDs = tasks.compactMap { Self.id(of: $0) }
        for index in 0..<Int.random(in: 0...25, using: &random) {
            readings.append(JSONText.object([
                ("id", JSONText.quote("r\(index)" + pick(Self.texts))),
                ("flag", maybe(Bool.random(using: &random) ? "true" : "false", nulls: 3)),
                ("amount", maybe(pick(["0", "1", "2.5", "-7", "0.1", "123456789012345678", "1e-5"]))),
                ("label", maybe(JSONText.quote(pick(Self.texts)))),
                ("at", maybe(JSONText.quote(pick(Self.dateTimes)))),
                ("doc", maybe(pick(Self.docs))),
                ("task_id", taskIDs.isEmpty ? "null" : maybe(pick(taskIDs))),
            ]))
        }
        guard !taskIDs.isEmpty else { return }
        for index in 0..<Int.random(in: 0...30, using: &random) {
            comments.append(JSONText.object([
                ("id", JSONText.quote("c\(index)" + pick(Self.texts))),
                ("task_id", pick(taskIDs)),
                ("body", JSONText.quote(pick(Self.texts))),
                ("posted_on", JSONText.quote(pick(Self.dates))),
                ("remind_at", maybe(JSONText.quote(pick(Self.times)))),
            ]))
        }
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    static func id(of row: String) -> String? {
        guard let start = row.range(of: "\"id\":")?.upperBound else { return nil }
        return String(row[start...].prefix { $0 != "," && $0 != "}" })
    }

    /// A third table beside the example's, for what the example has not: a nullable boolean, a
    /// NUMERIC (numeric on PostgreSQL), a VARCHAR, a date-time of microseconds (compared
    /// truncated), `json` (not jsonb: its text kept) and a reference that may be NULL.
    static let extraSQLite = """
        CREATE TABLE readings (id TEXT PRIMARY KEY, flag BOOLEAN, amount NUMERIC, label VARCHAR(40), at TIMESTAMP, doc JSON,
            task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL);
        """
    static let extraPostgres = """
        CREATE TABLE readings (id text COLLATE "C" PRIMARY KEY, flag boolean, amount numeric, label varchar(40) COLLATE "C", at timestamptz,
            doc json, task_id bigint REFERENCES tasks(id) ON DELETE SET NULL);
        """
    /// JSON texts, minified as SQLite keeps them, with objects of several members (`json` keeps them).
    static let docs = ["{\"b\":1,\"a\":[true,null]}", "[1,2,3]", "{\"k\":\"日本\"}", "\"s\"", "{}", "2"]

    // MARK: Queries

    struct Column {
        let name: String
        let type: ColumnType
        let nullable: Bool
    }

    /// Operands of the column's type, and mistakes (drawn one time in twelve).
    static func operands(for column: Column) -> (valid: [String], mistakes: [String]) {
        switch column.type {
        case .integer: (integers.map(String.init) + ["3", "1", "5"], ["abc", "1.5"])
        case .number: (doubles.map(number) + ["2.5", "-1", "0.1", "1e-5", "123456789012345678"], ["x", "1e400"])
        case .boolean: (["true", "false"], ["1", "yes"])
        case .string: (texts + ["c1a", "p1 a", "zz"], [])
        case .dateTime: (dateTimes + ["2026-12-07T09:00:00.123+01:00", "0000-06-01T00:00:00.000Z"], ["2026-12-07", "nope"])
        case .date: (dates + ["0000-06-01"], ["2026-13-01", "x"])
        case .time: (times, ["25:00:00", "12:30"])
        case .json: (jsons + docs + ["abc", "[\"a\",1]", "null", "\"\\u0000\""], [])
        case .blob: (blobs.map { Base64.encode($0) }, ["!!"])
        }
    }

    /// Half the time a value of the column's pool with its case flipped here and there and
    /// runs of it replaced by `*` (so patterns match rows, and case matters); else pieces.
    static func pattern(_ column: Column, using random: inout SeededGenerator) -> String {
        let pool = operands(for: column).valid
        if Bool.random(using: &random), let value = pool.randomElement(using: &random) {
            var pattern = ""
            for character in value {
                switch Int.random(in: 0..<6, using: &random) {
                case 0: if !pattern.hasSuffix("*") { pattern += "*" }
                case 1: pattern += character.isUppercase ? character.lowercased() : character.uppercased()
                default: pattern.append(character)
                }
            }
            if Bool.random(using: &random) { pattern = "*" + pattern }
            if Bool.random(using: &random) { pattern += "*" }
            return pattern
        }
        let pieces = ["*", "a", "B", "é", "日", "%", "_", "\\", "[", "?", " ", "1", "2026", "\"", "x"]
        return (0..<Int.random(in: 1...4, using: &random)).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &random)] }.joined()
    }

    static func filter(_ columns: [Column], using random: inout SeededGenerator) -> Filter {
        let column = columns[Int.random(in: 0..<columns.count, using: &random)]
        let negated = Int.random(in: 0..<4, using: &random) == 0
        // The operators the column's type takes, mostly; once in a while any (a mistake, or not).
        let fitting: [FilterOperator] = switch column.type {
        case .boolean, .blob: [.eq, .neq, .in, .is]
        case .json: [.eq, .neq, .in, .is, .like, .ilike]
        case .integer, .number: [.eq, .neq, .gt, .gte, .lt, .lte, .in, .is]
        default: FilterOperator.allCases
        }
        let operators = Int.random(in: 0..<12, using: &random) == 0 ? FilterOperator.allCases : fitting
        let op = operators[Int.random(in: 0..<operators.count, using: &random)]
        let (valid, mistakes) = operands(for: column)
        func one() -> String {
            let pool = mistakes.isEmpty || Int.random(in: 0..<12, using: &random) != 0 ? valid : mistakes
            return pool[Int.random(in: 0..<pool.count, using: &random)]
        }
        switch op {
        case .is:
            // is.true and is.false on a boolean column, mostly; once in a while a mistake.
            let choices: [Filter.Operand] = column.type == .boolean ? [.null, .true, .false] : [.null, .null, .null, .true, .value("x")]
            let operand = Int.random(in: 0..<12, using: &random) == 0 ? Filter.Operand.value("x") : choices[Int.random(in: 0..<choices.count, using: &random)]
            return Filter(column: column.name, op: .is, negated: negated, operand: operand)
        case .in:
            let items = (0..<Int.random(in: 0...3, using: &random)).map { _ in one() }
            return Filter(column: column.name, op: .in, negated: negated, operand: .list(items))
        case .like, .ilike:
            return Filter(column: column.name, op: op, negated: negated, operand: .value(pattern(column, using: &random)))
        default:
            return Filter(column: column.name, op: op, negated: negated, operand: .value(one()))
        }
    }

    static func group(_ columns: [Column], depth: Int, using random: inout SeededGenerator) -> FilterGroup {
        let any = Bool.random(using: &random)
        let negated = Int.random(in: 0..<3, using: &random) == 0
        var members: [FilterGroup.Member] = []
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            if depth < 2, Int.random(in: 0..<4, using: &random) == 0 {
                members.append(.group(group(columns, depth: depth + 1, using: &random)))
            } else {
                members.append(.filter(filter(columns, using: &random)))
            }
        }
        return FilterGroup(any: any, negated: negated, members: members, parameter: (negated ? "not." : "") + (any ? "or" : "and"))
    }

    static func subset(_ names: [String], using random: inout SeededGenerator) -> [String] {
        let chosen = names.filter { _ in Bool.random(using: &random) }
        return chosen.isEmpty ? [names[0]] : chosen.shuffled(using: &random)
    }

    /// A random listing of `collection`; `columns` its columns.
    static func query(_ collection: String, _ columns: [Column], using random: inout SeededGenerator) -> ListQuery {
        var query = ListQuery()
        for _ in 0..<Int.random(in: 0...3, using: &random) { query.filters.append(filter(columns, using: &random)) }
        if Int.random(in: 0..<3, using: &random) == 0 { query.groups.append(group(columns, depth: 1, using: &random)) }
        if Int.random(in: 0..<6, using: &random) == 0 { query.rule.append(filter(columns, using: &random)) }
        // Sometimes an unorderable column or an unknown one: the same error on both engines.
        let orderable = columns.filter { Int.random(in: 0..<10, using: &random) == 0 || ($0.type != .json && $0.type != .blob) }
        for _ in 0..<Int.random(in: 0...2, using: &random) where !orderable.isEmpty {
            let column = orderable[Int.random(in: 0..<orderable.count, using: &random)]
            if !query.order.contains(where: { $0.column == column.name }) {
                query.order.append(Ordering(column: column.name, descending: Bool.random(using: &random)))
            }
        }
        if Int.random(in: 0..<40, using: &random) == 0 { query.order.append(Ordering(column: "nope")) }
        if Int.random(in: 0..<3, using: &random) == 0 { query.select = subset(columns.map(\.name), using: &random) }
        query.limit = Int.random(in: 1...7, using: &random)
        if Int.random(in: 0..<5, using: &random) == 0 { query.offset = Int.random(in: 0...3, using: &random) }
        query.count = Bool.random(using: &random)
        if Int.random(in: 0..<2, using: &random) == 0 { query.embeds = embeds(of: collection, using: &random) }
        return query
    }

    static let schemaColumns: [String: [Column]] = [
        "projects": [
            Column(name: "id", type: .integer, nullable: false), Column(name: "name", type: .string, nullable: false),
            Column(name: "description", type: .string, nullable: true), Column(name: "archived", type: .boolean, nullable: false),
            Column(name: "created_at", type: .dateTime, nullable: false),
        ],
        "tasks": [
            Column(name: "id", type: .integer, nullable: false), Column(name: "project_id", type: .integer, nullable: false),
            Column(name: "title", type: .string, nullable: false), Column(name: "done", type: .boolean, nullable: false),
            Column(name: "priority", type: .integer, nullable: true), Column(name: "estimate", type: .number, nullable: true),
            Column(name: "due", type: .dateTime, nullable: true), Column(name: "tags", type: .json, nullable: true),
            Column(name: "attachment", type: .blob, nullable: true), Column(name: "created_at", type: .dateTime, nullable: false),
        ],
        "readings": [
            Column(name: "id", type: .string, nullable: false), Column(name: "flag", type: .boolean, nullable: true),
            Column(name: "amount", type: .number, nullable: true), Column(name: "label", type: .string, nullable: true),
            Column(name: "at", type: .dateTime, nullable: true), Column(name: "doc", type: .json, nullable: true),
            Column(name: "task_id", type: .integer, nullable: true),
        ],
        "comments": [
            Column(name: "id", type: .string, nullable: false), Column(name: "task_id", type: .integer, nullable: false),
            Column(name: "body", type: .string, nullable: false), Column(name: "posted_on", type: .date, nullable: false),
            Column(name: "remind_at", type: .time, nullable: true),
        ],
    ]

    static let relations: [String: [(name: String, target: String, toMany: Bool)]] = [
        "projects": [("tasks", "tasks", true)],
        "tasks": [("project", "projects", false), ("comments", "comments", true), ("readings", "readings", true)],
        "comments": [("task", "tasks", false)],
        "readings": [("task", "tasks", false)],
    ]

    static func embeds(of collection: String, depth: Int = 1, using random: inout SeededGenerator) -> [Embed] {
        guard depth <= 2, let relations = relations[collection] else { return [] }
        var result: [Embed] = []
        for relation in relations where Bool.random(using: &random) {
            let columns = schemaColumns[relation.target] ?? []
            var embed = Embed(key: relation.name, relation: relation.name)
            if Bool.random(using: &random) { embed.columns = subset(columns.map(\.name), using: &random) }
            if Int.random(in: 0..<3, using: &random) == 0 { embed.filters.append(filter(columns, using: &random)) }
            if relation.toMany {
                if Bool.random(using: &random) {
                    let column = columns[Int.random(in: 0..<columns.count, using: &random)]
                    if column.type != .json && column.type != .blob { embed.order = [Ordering(column: column.name, descending: Bool.random(using: &random))] }
                }
                if Bool.random(using: &random) { embed.limit = Int.random(in: 1...3, using: &random) }
                if Int.random(in: 0..<4, using: &random) == 0 { embed.offset = Int.random(in: 0...2, using: &random) }
            }
            embed.embeds = embeds(of: relation.target, depth: depth + 1, using: &random)
            result.append(embed)
        }
        return result
    }
}
