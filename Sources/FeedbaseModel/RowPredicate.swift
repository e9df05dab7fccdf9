// A listing's filters as a predicate over one row, evaluated in Swift: a band (a live filtered
// list) decides whether an event's row is in it without a query. It reads the row from the
// item's JSON, so it judges each value as read, as the listing's SQL does
// (`RowJSON.comparableExpression`). Its conditions are the listing's own typed plan (FilterPlan),
// so both are checked and typed once, alike; evaluation follows SQLite's rules for what that SQL
// does: storage-class order (NULL < numbers < text < BLOB), numbers compared by value, text by
// bytes, three-valued NULL logic under NOT, GLOB for `like` and ASCII-case-insensitive LIKE for
// `ilike` (a BLOB matching neither). A test holds the two equal on random rows.

public struct RowPredicate: Sendable, Equatable {
    package enum Test: Sendable, Equatable {
        case isNull
        /// `x IS NOT NULL AND x != 0`
        case isTrue
        /// `x = 0`
        case isFalse
        case compare(FilterOperator, SQLValue)
        case oneOf([SQLValue])
        /// `in.()`: false for every row, NULL included.
        case never
        /// Code points and wildcards (`*` matches any run); `caseless` folds ASCII only.
        case pattern([Unicode.Scalar?], caseless: Bool)
    }

    package struct Condition: Sendable, Equatable {
        package var column: Int
        package var test: Test
        package var negated: Bool

        package init(column: Int, test: Test, negated: Bool) {
            self.column = column
            self.test = test
            self.negated = negated
        }
    }

    /// An `or`/`and` group: SQL's OR and AND over three-valued results.
    package struct Group: Sendable, Equatable {
        package indirect enum Member: Sendable, Equatable {
            case condition(Condition)
            case group(Group)
        }

        package var any: Bool
        package var negated: Bool
        package var members: [Member]

        package init(any: Bool, negated: Bool, members: [Member]) {
            self.any = any
            self.negated = negated
            self.members = members
        }
    }

    public let collection: String
    package let conditions: [Condition]
    /// ANDed with the conditions. A band with groups is filed in the index under its plain
    /// conditions' equalities only (RowIndexing).
    package var groups: [Group] = []
    /// The columns, in table order, for reading an item's JSON back into values.
    public let layout: RowLayout

    /// Whether the row whose item JSON is `json` (as events and GET give it) satisfies every
    /// condition; false when the JSON is not an item of this collection.
    public func matches(itemJSON json: [UInt8]) -> Bool {
        guard let row = layout.row(json) else { return false }
        return matches(row)
    }

    /// Whether `row` (read with this predicate's layout) satisfies every condition.
    public func matches(_ row: RowSnapshot) -> Bool {
        matches(row.values)
    }

    package func matches(_ values: [SQLValue]) -> Bool {
        conditions.allSatisfy { Self.evaluate($0, values) == true } && groups.allSatisfy { Self.evaluate($0, values) == true }
    }

    package static func evaluate(_ condition: Condition, _ values: [SQLValue]) -> Bool? {
        let result = evaluate(condition.test, values[condition.column])
        return condition.negated ? result.map { !$0 } : result
    }

    /// OR: true when a member is, else NULL when one is NULL, else false; AND the converse.
    package static func evaluate(_ group: Group, _ values: [SQLValue]) -> Bool? {
        var unknown = false
        for member in group.members {
            let result: Bool? = switch member {
            case .condition(let condition): evaluate(condition, values)
            case .group(let inner): evaluate(inner, values)
            }
            guard let result else {
                unknown = true
                continue
            }
            if result == group.any { return group.negated ? !result : result }
        }
        if unknown { return nil }
        return group.negated ? group.any : !group.any
    }

    /// SQL's three-valued result: nil is NULL.
    package static func evaluate(_ test: Test, _ value: SQLValue) -> Bool? {
        switch test {
        case .isNull:
            return value == .null
        case .isTrue:
            return value == .null ? false : compare(value, .integer(0)) != 0
        case .isFalse:
            return value == .null ? nil : compare(value, .integer(0)) == 0
        case .never:
            return false
        case .compare(let op, let operand):
            guard value != .null else { return nil }
            let order = compare(value, operand)
            switch op {
            case .eq: return order == 0
            case .neq: return order != 0
            case .gt: return order > 0
            case .gte: return order >= 0
            case .lt: return order < 0
            case .lte: return order <= 0
            default: return nil
            }
        case .oneOf(let operands):
            guard value != .null else { return nil }
            return operands.contains { compare(value, $0) == 0 }
        case .pattern(let pattern, let caseless):
            // A BLOB (another program's, in a text column) matches no pattern (SQLConditions).
            if case .blob = value { return false }
            guard let text = text(of: value) else { return nil }
            // SQLite reads the text only up to a U+0000 (which another program may have stored).
            return matchPattern(Array(text.unicodeScalars.prefix { $0 != "\0" })[...], pattern[...], caseless: caseless)
        }
    }

    /// SQLite's order of two values: NULL < INTEGER and REAL (by value) < TEXT (by bytes) < BLOB.
    package static func compare(_ a: SQLValue, _ b: SQLValue) -> Int {
        func rank(_ value: SQLValue) -> Int {
            switch value {
            case .null: 0
            case .integer, .real: 1
            case .text: 2
            case .blob: 3
            }
        }
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.integer(let x), .real(let y)): return -compareReal(y, x)
        case (.real(let x), .integer(let y)): return compareReal(x, y)
        case (.real(let x), .real(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.text(let x), .text(let y)): return compareBytes(Array(x.utf8), Array(y.utf8))
        case (.blob(let x), .blob(let y)): return compareBytes(x, y)
        default: return rank(a) - rank(b)
        }
    }

    /// A double against an integer, exactly (as SQLite does: no rounding of large integers).
    private static func compareReal(_ x: Double, _ y: Int64) -> Int {
        if x.isNaN { return -1 }
        if x < -9.223372036854775808e18 { return -1 }
        if x >= 9.223372036854775808e18 { return 1 }
        let whole = Int64(x.rounded(.down))
        if whole != y { return whole < y ? -1 : 1 }
        return x > Double(whole) ? 1 : 0
    }

    private static func compareBytes(_ x: [UInt8], _ y: [UInt8]) -> Int {
        for (a, b) in zip(x, y) where a != b { return a < b ? -1 : 1 }
        return x.count - y.count
    }

    /// A value as text, the way SQLite converts it for GLOB and LIKE; nil for NULL.
    private static func text(of value: SQLValue) -> String? {
        switch value {
        case .null: nil
        case .integer(let x): String(x)
        case .real(let x): RowImage.sqliteText(x)
        case .text(let x): x
        case .blob(let x): String(decoding: x, as: UTF8.self)
        }
    }

    /// A pattern as SQL's LIKE spells it with `ESCAPE '\'`: `*` is `%`, and LIKE's own
    /// metacharacters are escaped (both engines render `like`/`ilike` from this).
    package static func likePattern(_ pattern: [Unicode.Scalar?]) -> String {
        var like = String.UnicodeScalarView()
        for scalar in pattern {
            switch scalar {
            case nil: like.append("%")
            case let scalar? where scalar == "%" || scalar == "_" || scalar == "\\": like += ["\\", scalar]
            case let scalar?: like.append(scalar)
            }
        }
        return String(like)
    }

    /// `*` (nil in `pattern`) matches any run of code points; every other code point itself,
    /// ASCII letters regardless of case when `caseless`.
    private static func matchPattern(_ text: ArraySlice<Unicode.Scalar>, _ pattern: ArraySlice<Unicode.Scalar?>, caseless: Bool) -> Bool {
        func same(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Bool {
            guard caseless, a.isASCII, b.isASCII else { return a == b }
            return a.properties.lowercaseMapping == b.properties.lowercaseMapping
        }
        // Iterative wildcard matching with backtracking to the last `*`.
        var t = text.startIndex, p = pattern.startIndex
        var star: (pattern: Int, text: Int)?
        while t < text.endIndex {
            if p < pattern.endIndex, let literal = pattern[p], same(literal, text[t]) {
                t += 1
                p += 1
            } else if p < pattern.endIndex, pattern[p] == nil {
                star = (p, t)
                p += 1
            } else if let last = star {
                star = (last.pattern, last.text + 1)
                p = last.pattern + 1
                t = last.text + 1
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == nil { p += 1 }
        return p == pattern.endIndex
    }

    package init(collection: String, conditions: [Condition], groups: [Group] = [], layout: RowLayout) {
        self.collection = collection
        self.conditions = conditions
        self.groups = groups
        self.layout = layout
    }
}

