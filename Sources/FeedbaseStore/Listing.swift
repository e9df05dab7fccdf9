// A ListQuery as SQL over one collection: typed filter operands, a total order ending in the
// primary key, and keyset pagination whose cursor carries the last row's sort values.
//
// Keyset condition for sort keys k1..kn (kn is the primary key) after the values v1..vn:
//   after(k1) OR (same(k1) AND (after(k2) OR (same(k2) AND ... after(kn))))
// with SQLite's NULL placement made explicit (NULLs sort first ascending, last descending), so a
// row whose sort value is NULL is neither skipped nor repeated.

import FeedbaseModel

struct Listing {
    let collection: CollectionSchema
    let query: ListQuery

    private var table: String { quoteIdentifier(collection.name) }

    /// The sort keys with the primary key last (once).
    var sortKeys: [(column: Column, descending: Bool)] {
        get throws {
            var keys: [(Column, Bool)] = []
            for ordering in query.order {
                guard let column = collection.column(ordering.column) else {
                    throw StoreError.badQuery("order", "\(collection.name) has no column '\(ordering.column)'")
                }
                guard column.type != .blob && column.type != .json else {
                    throw StoreError.badQuery("order", "cannot order by '\(column.name)': a \(column.type.rawValue) column")
                }
                guard !keys.contains(where: { $0.0.name == column.name }) else {
                    throw StoreError.badQuery("order", "'\(column.name)' appears twice")
                }
                keys.append((column, ordering.descending))
                if column.isPrimaryKey { break }  // the key is unique: later keys never matter
            }
            // The key breaks ties in the direction of the last sort key, so that an index on the
            // sort columns (which holds the rowid in ascending order) serves the whole order by a
            // forward or a backward scan, without sorting.
            if !keys.contains(where: { $0.0.isPrimaryKey }) { keys.append((collection.primaryKey, keys.last?.1 ?? false)) }
            return keys
        }
    }

    /// What the cursor starts with: the order it belongs to, so a cursor of another order is refused.
    func signature(_ keys: [(column: Column, descending: Bool)]) -> String {
        keys.map { $0.column.name + ($0.descending ? ".desc" : ".asc") }.joined(separator: ",")
    }

    // MARK: Filters

    func whereClause(into sql: inout BoundSQL, on connection: Connection) throws -> [String] {
        var conditions: [String] = []
        for filter in query.filters { conditions.append(try condition(filter, into: &sql, on: connection)) }
        for group in query.groups { conditions.append(try condition(group, into: &sql, on: connection)) }
        for filter in query.rule { conditions.append(try condition(filter, into: &sql, on: connection, lenient: true)) }
        return conditions
    }

    /// A logic group as a SQL condition; a member's error names the group's parameter.
    /// `underNot`: whether an odd number of enclosing groups negate it.
    func condition(_ group: FilterGroup, into sql: inout BoundSQL, on connection: Connection, underNot: Bool = false) throws -> String {
        let inner = underNot != group.negated
        var parts: [String] = []
        for member in group.members {
            switch member {
            case .filter(let filter):
                do {
                    parts.append(try condition(filter, into: &sql, on: connection, underNot: inner))
                } catch let error as StoreError where error.kind == .badQuery {
                    throw StoreError.badQuery(group.parameter, "\(filter.column): \(error.message)")
                }
            case .group(let member):
                parts.append(try condition(member, into: &sql, on: connection, underNot: inner))
            }
        }
        let joined = "(" + parts.joined(separator: group.any ? " OR " : " AND ") + ")"
        return group.negated ? "NOT " + joined : joined
    }

    /// One filter as a SQL condition. `lenient` (a rule's condition): an operand that is not of
    /// the column's type matches nothing (an `in` list keeps the items that are), whether or
    /// not the filter is negated, instead of being the client's error. `underNot`: whether an
    /// odd number of enclosing groups negate it.
    func condition(_ filter: Filter, into sql: inout BoundSQL, on connection: Connection, lenient: Bool = false, underNot: Bool = false) throws -> String {
        if lenient {
            switch filter.operand {
            case .value(let text) where [.like, .ilike].contains(filter.op) && text.unicodeScalars.contains("\0"):
                return "(0)"
            case .value(let text) where ![.like, .ilike].contains(filter.op):
                guard let column = collection.column(filter.column), (try? operand(text, for: column, parameter: "", on: connection)) != nil else {
                    return "(0)"
                }
            case .list(let items):
                guard let column = collection.column(filter.column) else { return "(0)" }
                let typed = items.filter { (try? operand($0, for: column, parameter: "", on: connection)) != nil }
                if typed.isEmpty { return "(0)" }
                var kept = filter
                kept.operand = .list(typed)
                return try condition(kept, into: &sql, on: connection, underNot: underNot)
            default: break
            }
        }
        let parameter = filter.column
        guard let column = collection.column(filter.column) else {
            throw StoreError.badQuery(parameter, "\(collection.name) has no column '\(filter.column)'")
        }
        let reference = quoteIdentifier(column.name)
        // An infinity (only another program stores one) reads as null. Where the condition
        // counts positively (under no NOT, or an even number of them), a condition that is false
        // for it is as good as one that is NULL: the stored value is compared (index-friendly)
        // with the infinities left out. Under a NOT, the value as read is compared.
        let infinities = ![.boolean, .json, .blob].contains(column.type) && column.holdsReals
        let negative = underNot != filter.negated
        let value =
            if infinities && negative {
                "(CASE WHEN \(RowJSON.isInfinite(reference)) THEN NULL ELSE \(reference) END)"
            } else if column.type == .boolean, collection.indexLeaders.contains(column.name),
                try Self.holdsOnlyZeroAndOne(column, of: collection, on: connection)
            {
                // Read as stored: 0, 1 and NULL read as false, true and null, and the column's
                // index serves the condition (and an ORDER BY behind it on the same index).
                reference
            } else {
                comparable(column)
            }
        var condition: String
        switch (filter.op, filter.operand) {
        case (.is, .null):
            // Only a JSON column shows some stored values (the text `null`) as null.
            condition = "\(column.type == .json || infinities ? value : reference) IS NULL"
        case (.is, .true), (.is, .false):
            guard column.type == .boolean else {
                throw StoreError.badQuery(parameter, "is.true and is.false need a boolean column; '\(column.name)' is \(column.type.rawValue)")
            }
            // `IS 1`: never NULL, so `not.is.true` holds for a NULL as the predicate's isTrue says.
            condition = "\(value) \(filter.operand == .true ? "IS 1" : "= 0")"
        case (.is, _):
            throw StoreError.badQuery(parameter, "is takes null, true or false")
        case (.in, .list(let items)):
            if items.isEmpty {
                condition = "0"
            } else {
                let placeholders = try items.map { sql.bind(try operand($0, for: column, parameter: parameter, on: connection)) }
                condition = "\(value) IN (\(placeholders.joined(separator: ", ")))"
            }
        case (.in, _):
            throw StoreError.badQuery(parameter, "in takes a list in parentheses: in.(a,b,\"c,d\")")
        case (.like, .value(let pattern)), (.ilike, .value(let pattern)):
            guard [.string, .dateTime, .date, .time, .json].contains(column.type) else {
                throw StoreError.badQuery(parameter, "\(filter.op.rawValue) needs a text column; '\(column.name)' is \(column.type.rawValue)")
            }
            // SQLite's GLOB and LIKE end a pattern at U+0000: `*%00x` would match as `*`, and
            // a band's predicate (which reads the whole pattern) would disagree with the listing.
            guard !pattern.unicodeScalars.contains("\0") else {
                throw StoreError.badQuery(parameter, "a pattern cannot contain U+0000 (%00)")
            }
            if filter.op == .like {
                // GLOB is case-sensitive; escape its own metacharacters, keep * as the wildcard.
                // Scalars, not Characters: a combining mark after `?` must not hide it from the
                // escape (SQLite matches code points).
                var glob = String.UnicodeScalarView()
                for scalar in pattern.unicodeScalars {
                    switch scalar {
                    case "?": glob += "[?]".unicodeScalars
                    case "[": glob += "[[]".unicodeScalars
                    default: glob.append(scalar)
                    }
                }
                condition = "\(value) GLOB \(sql.bind(.text(String(glob))))"
            } else {
                var like = String.UnicodeScalarView()
                for scalar in pattern.unicodeScalars {
                    switch scalar {
                    case "*": like.append("%")
                    case "%", "_", "\\": like += ["\\", scalar]
                    default: like.append(scalar)
                    }
                }
                condition = "\(value) LIKE \(sql.bind(.text(String(like)))) ESCAPE '\\'"
            }
            // A BLOB (another program's) matches no pattern, as in SQLite built with
            // LIKE_DOESNT_MATCH_BLOBS (Debian's), whatever the build: the band decides alike.
            condition += " AND typeof(\(value)) != 'blob'"
        case (.eq, .value(let text)), (.neq, .value(let text)):
            let operand = try operand(text, for: column, parameter: parameter, on: connection)
            condition = "\(value) \(filter.op == .eq ? "=" : "!=") \(sql.bind(operand))"
        case (.gt, .value(let text)), (.gte, .value(let text)), (.lt, .value(let text)), (.lte, .value(let text)):
            guard ![.boolean, .blob, .json].contains(column.type) else {
                throw StoreError.badQuery(parameter, "\(filter.op.rawValue) cannot compare a \(column.type.rawValue) column")
            }
            let operand = try operand(text, for: column, parameter: parameter, on: connection)
            let symbol = [FilterOperator.gt: ">", .gte: ">=", .lt: "<", .lte: "<="][filter.op] ?? "="
            condition = "\(value) \(symbol) \(sql.bind(operand))"
        default:
            throw StoreError.badQuery(parameter, "\(filter.op.rawValue) takes a single value")
        }
        if infinities && !negative {
            // The column's affinity is not TEXT (`holdsReals`), so the literals stay REAL and
            // `is.null` stays two index lookups.
            condition = filter.op == .is
                ? "\(condition) OR \(reference) IN (1e999, -1e999)" : "\(condition) AND \(reference) NOT IN (1e999, -1e999)"
        }
        return filter.negated ? "NOT (\(condition))" : "(\(condition))"
    }

    /// Whether a boolean column holds nothing but 0, 1 and NULL (what Feedbase writes), in the
    /// snapshot of the statement that follows on `connection` (a listing reads in one
    /// transaction). Three seeks on the index the column leads: numbers below 0, between 0 and
    /// 1, and above 1, text and BLOBs (which sort after every number) with them.
    static func holdsOnlyZeroAndOne(_ column: Column, of collection: CollectionSchema, on connection: Connection) throws -> Bool {
        let reference = quoteIdentifier(column.name)
        let odd = try connection.query(
            "SELECT EXISTS (SELECT 1 FROM \(quoteIdentifier(collection.name)) WHERE \(reference) < 0 OR "
                + "(\(reference) > 0 AND \(reference) < 1) OR \(reference) > 1)", []
        ) { $0.int64(0) }.first
        return odd == 0
    }

    /// What a filter compares: the value the column's JSON shows (RowJSON.comparableExpression),
    /// so JSON columns compare (and match patterns) as normalised JSON text, `eq.{"a": 1}`
    /// matching `{"a":1}` whatever spacing another program stored, and a boolean holding `2` or
    /// `'no'` as the `true` or `false` it reads as.
    private func comparable(_ column: Column) -> String {
        RowJSON.comparableExpression(column)
    }

    /// The SQL value of an operand written in the URL, typed by its column.
    func operand(_ text: String, for column: Column, parameter: String, on connection: Connection) throws -> SQLValue {
        func bad(_ expected: String) -> StoreError {
            StoreError.badQuery(parameter, "'\(text)' is not \(expected) (column '\(column.name)' is \(column.type.rawValue))")
        }
        switch column.type {
        case .integer:
            guard let value = Int64(text) else { throw bad("an integer") }
            return .integer(value)
        case .number:
            if let value = Int64(text) { return .integer(value) }
            guard let value = Double(text), value.isFinite, text.unicodeScalars.allSatisfy({ "0123456789.eE+-".unicodeScalars.contains($0) }) else {
                throw bad("a number")
            }
            return .real(value)
        case .boolean:
            switch text {
            case "true": return .integer(1)
            case "false": return .integer(0)
            default: throw bad("true or false")
            }
        case .dateTime:
            guard let value = Timestamp.normalizeDateTime(text) else { throw bad("an RFC 3339 date-time") }
            return .text(value)
        case .date:
            guard Timestamp.isValidDate(text) else { throw bad("a date YYYY-MM-DD") }
            return .text(text)
        case .time:
            guard Timestamp.isValidTime(text) else { throw bad("a time HH:MM:SS") }
            return .text(text)
        case .blob:
            guard let bytes = Base64.decode(text) else { throw bad("base64") }
            return .blob(bytes)
        case .json:
            // A JSON operand is compared in its normalised form; text that is not JSON matches
            // a stored string of that text.
            let normalised = try connection.scalarText(
                "SELECT CASE WHEN json_valid(?1) THEN json(?1) ELSE json_quote(?1) END", [.text(text)])
            return .text(normalised ?? text)
        case .string:
            return .text(text)
        }
    }

    // MARK: The page

    /// The page; `head` is a SQL expression read with every row (the change log's head), so the
    /// page's `seq` comes from the same statement as its rows.
    /// The page's statement, and the filters' conditions with their values (the count's).
    func pageStatement(on connection: Connection, head: String = "0", schema: Schema) throws
        -> (select: BoundSQL, filters: [String], filterValues: [SQLValue], keys: [(column: Column, descending: Bool)])
    {
        let keys = try sortKeys
        var select = BoundSQL()
        let filters = try whereClause(into: &select, on: connection)
        let filterValues = select.values
        var conditions = filters
        if let after = query.after {
            conditions.append(try keysetCondition(after: after, keys: keys, into: &select, on: connection))
        }
        let object = RowJSON.object(try members(into: &select, on: connection, schema: schema))
        let cursorValues = keys.map { key in
            switch key.column.type {
            case .blob where key.column.isPrimaryKey: "\(SQLFunctions.base64Name)(\(quoteIdentifier(key.column.name)))"
            default: RowJSON.cursorValue(quoteIdentifier(key.column.name))
            }
        }
        let orderBy = keys.map { quoteIdentifier($0.column.name) + ($0.descending ? " DESC" : " ASC") }
        select.text = "SELECT \(object), json_array(\(quoteLiteral(signature(keys))), \(cursorValues.joined(separator: ", "))), \(head) FROM \(table)"
        if !conditions.isEmpty { select.text += " WHERE " + conditions.joined(separator: " AND ") }
        select.text += " ORDER BY " + orderBy.joined(separator: ", ")
        select.text += " LIMIT \(select.bind(.integer(Int64(query.limit + 1)))) OFFSET \(select.bind(.integer(Int64(query.offset))))"
        return (select, filters, filterValues, keys)
    }

    func page(on connection: Connection, head: String = "0", schema: Schema) throws -> Page {
        let (select, filters, filterValues, keys) = try pageStatement(on: connection, head: head, schema: schema)

        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(min(query.limit, 100) * 256)
        var count = 0
        var lastCursor: String?
        var more = false
        var seq: Int64 = 0
        try connection.withStatement(select.text) { statement in
            try statement.bind(select.values)
            while try statement.step() {
                if count == query.limit {
                    more = true
                    break
                }
                if count > 0 { json.append(UInt8(ascii: ",")) }
                statement.appendText(0, to: &json)
                if count == 0 { seq = statement.int64(2) }
                count += 1
                if count == query.limit { lastCursor = statement.text(1) }
            }
        }
        json.append(UInt8(ascii: "]"))

        var total: Int?
        var start = query.offset
        if query.count {
            let whereFilters = filters.isEmpty ? "" : " WHERE " + filters.joined(separator: " AND ")
            let all = try connection.scalarInt("SELECT count(*) FROM \(table)\(whereFilters)", filterValues) ?? 0
            total = Int(all)
            if let after = query.after {
                // Rows before the cursor = all matching rows - those after it.
                var counting = BoundSQL()
                let countFilters = try whereClause(into: &counting, on: connection)
                let keyset = try keysetCondition(after: after, keys: keys, into: &counting, on: connection)
                let sql = "SELECT count(*) FROM \(table) WHERE " + (countFilters + [keyset]).joined(separator: " AND ")
                let remaining = try connection.scalarInt(sql, counting.values) ?? 0
                // Saturating: the offset is the client's, up to Int64.max. Past the end the page
                // is empty and its start is not shown.
                let (sum, overflow) = Int(all - remaining).addingReportingOverflow(query.offset)
                start = overflow ? .max : sum
            }
        }
        var page = Page(json: json, itemCount: count, next: more ? lastCursor.map(Self.encodeCursor) : nil, total: total, start: start)
        page.seq = seq
        return page
    }

    private func keysetCondition(
        after cursor: String, keys: [(column: Column, descending: Bool)], into sql: inout BoundSQL, on connection: Connection
    ) throws -> String {
        let invalid = StoreError.badQuery("after", "not a cursor of this listing; follow the Link rel=\"next\" URL as given")
        // json_type raises an error on text that is not JSON, and AND does not short-circuit in
        // SQLite: the CASE keeps it from ever seeing such text.
        guard let bytes = Self.decodeCursor(cursor), String(validating: bytes, as: UTF8.self) != nil,
            try connection.scalarInt(
                "SELECT CASE WHEN json_valid(?1) THEN json_type(?1) = 'array' ELSE 0 END", [.text(String(decoding: bytes, as: UTF8.self))]) == 1
        else { throw invalid }
        // A BLOB sort value (another program's, in a boolean column) is {"base64": "..."}.
        let elements = try connection.query(
            "SELECT type, CASE WHEN type = 'object' THEN value ->> '$.base64' ELSE atom END FROM json_each(?1)",
            [.text(String(decoding: bytes, as: UTF8.self))]
        ) { ($0.text(0) ?? "", $0.value(1)) }
        guard elements.count == keys.count + 1, elements[0].1 == .text(signature(keys)) else {
            throw StoreError.badQuery("after", "the cursor belongs to another order; follow the Link rel=\"next\" URL as given")
        }
        var values: [SQLValue] = []
        for (key, element) in zip(keys, elements.dropFirst()) {
            guard ["null", "integer", "real", "text", "object"].contains(element.0) else { throw invalid }
            var value = element.1
            if element.0 == "object" {
                guard case .text(let text) = value, let blob = Base64.decode(text) else { throw invalid }
                value = .blob(blob)
            }
            if key.column.isPrimaryKey, key.column.type == .blob {
                guard case .text(let text) = value, let blob = Base64.decode(text) else { throw invalid }
                value = .blob(blob)
            }
            values.append(value)
        }
        // Built from the last key outwards: after(kn), then after(k) OR (same(k) AND inner).
        var condition = ""
        for (key, value) in zip(keys, values).reversed() {
            let reference = quoteIdentifier(key.column.name)
            let after: String
            let same: String
            if value == .null {
                after = key.descending ? "0" : "\(reference) IS NOT NULL"
                same = "\(reference) IS NULL"
            } else {
                let placeholder = sql.bind(value)
                after = key.descending ? "(\(reference) < \(placeholder) OR \(reference) IS NULL)" : "\(reference) > \(placeholder)"
                same = "\(reference) = \(placeholder)"
            }
            condition = condition.isEmpty ? after : "(\(after) OR (\(same) AND \(condition)))"
        }
        return condition
    }

    // Cursors are base64url without padding: safe in a URL as they are.
    static func encodeCursor(_ json: String) -> String {
        var text = Base64.encode(Array(json.utf8))
        while text.hasSuffix("=") { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    static func decodeCursor(_ cursor: String) -> [UInt8]? {
        let bytes = Array(cursor.utf8)
        guard !bytes.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "=") }) else { return nil }
        let standard = bytes.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 == UInt8(ascii: "_") ? UInt8(ascii: "/") : $0 }
        return Base64.decode(String(decoding: standard, as: UTF8.self))
    }
}

/// SQL text and the values bound to its numbered parameters (`?1`, `?2`, ...), built together so
/// that a value is never spliced into the text.
struct BoundSQL {
    var text = ""
    var values: [SQLValue] = []

    /// Appends `value` to the bound values and returns its parameter.
    mutating func bind(_ value: SQLValue) -> String {
        values.append(value)
        return "?\(values.count)"
    }
}
