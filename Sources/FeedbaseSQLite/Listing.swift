// A ListPlan as SQL over one collection: a total order ending in the primary key, and keyset
// pagination whose cursor carries the last row's sort values (FeedbaseModel/ListPlan.swift
// checks and types the query; nothing here finds a client error).
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


    // MARK: The page

    /// The page's statement, and the filters' conditions with their values (the count's).
    /// `head` is a SQL expression read with every row (the change log's head), so the page's
    /// `seq` comes from the same statement as its rows.
    func pageStatement(on connection: Connection, head: String = "0", schema: Schema) throws
        -> (select: BoundSQL, filters: [String], filterValues: [SQLValue], plan: ListPlan)
    {
        let plan = try ListPlan(query, of: collection, in: schema)
        var select = BoundSQL()
        let filters = try SQLConditions(collection: collection, connection: connection).whereClause(plan.filter, into: &select)
        let filterValues = select.values
        var conditions = filters
        if let after = plan.after {
            conditions.append(Self.keysetCondition(after: after, keys: plan.keys, into: &select))
        }
        let object = RowJSON.object(try members(plan.members, into: &select, on: connection))
        let cursorValues = plan.keys.map { key in
            switch key.column.type {
            case .blob where key.column.isPrimaryKey: "\(SQLFunctions.base64Name)(\(quoteIdentifier(key.column.name)))"
            default: RowJSON.cursorValue(quoteIdentifier(key.column.name))
            }
        }
        let orderBy = plan.keys.map { quoteIdentifier($0.column.name) + ($0.descending ? " DESC" : " ASC") }
        select.text = "SELECT \(object), json_array(\(quoteLiteral(plan.signature)), \(cursorValues.joined(separator: ", "))), \(head) FROM \(table)"
        if !conditions.isEmpty { select.text += " WHERE " + conditions.joined(separator: " AND ") }
        select.text += " ORDER BY " + orderBy.joined(separator: ", ")
        select.text += " LIMIT \(select.bind(.integer(Int64(plan.limit + 1)))) OFFSET \(select.bind(.integer(Int64(plan.offset))))"
        return (select, filters, filterValues, plan)
    }

    func page(on connection: Connection, head: String = "0", schema: Schema) throws -> Page {
        let (select, filters, filterValues, plan) = try pageStatement(on: connection, head: head, schema: schema)

        var json: [UInt8] = [UInt8(ascii: "[")]
        json.reserveCapacity(min(plan.limit, 100) * 256)
        var count = 0
        var lastCursor: String?
        var more = false
        var seq: Int64 = 0
        try connection.withStatement(select.text) { statement in
            try statement.bind(select.values)
            while try statement.step() {
                if count == plan.limit {
                    more = true
                    break
                }
                if count > 0 { json.append(UInt8(ascii: ",")) }
                statement.appendText(0, to: &json)
                if count == 0 { seq = statement.int64(2) }
                count += 1
                if count == plan.limit { lastCursor = statement.text(1) }
            }
        }
        json.append(UInt8(ascii: "]"))

        var total: Int?
        var start = plan.offset
        if plan.count {
            let whereFilters = filters.isEmpty ? "" : " WHERE " + filters.joined(separator: " AND ")
            let all = try connection.scalarInt("SELECT count(*) FROM \(table)\(whereFilters)", filterValues) ?? 0
            total = Int(all)
            if let after = plan.after {
                // Rows before the cursor = all matching rows - those after it.
                var counting = BoundSQL()
                let countFilters = try SQLConditions(collection: collection, connection: connection).whereClause(plan.filter, into: &counting)
                let keyset = Self.keysetCondition(after: after, keys: plan.keys, into: &counting)
                let sql = "SELECT count(*) FROM \(table) WHERE " + (countFilters + [keyset]).joined(separator: " AND ")
                let remaining = try connection.scalarInt(sql, counting.values) ?? 0
                // Saturating: the offset is the client's, up to Int64.max. Past the end the page
                // is empty and its start is not shown.
                let (sum, overflow) = Int(all - remaining).addingReportingOverflow(plan.offset)
                start = overflow ? .max : sum
            }
        }
        var page = Page(json: json, itemCount: count, next: more ? lastCursor.map(Cursor.encode) : nil, total: total, start: start)
        page.seq = seq
        return page
    }

    /// The rows after the cursor's values in the order of `keys`. Built from the last key
    /// outwards: after(kn), then after(k) OR (same(k) AND inner).
    private static func keysetCondition(after values: [SQLValue], keys: [SortKey], into sql: inout BoundSQL) -> String {
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
