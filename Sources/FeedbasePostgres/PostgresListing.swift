// A ListPlan as ONE PostgreSQL statement (so one snapshot): the page's rows as JSON text built by
// PostgreSQL with PostgresRowJSON's mapping, each row's cursor (its sort values as a JSON array
// after the order's signature, as SQLite writes them), the change log's head and, when asked,
// the counts. Keyset pages as on SQLite (Listing.swift): a total order ending in the primary
// key, NULLs first ascending and last descending (SQLite's placement, made explicit), and the
// condition after(k1) OR (same(k1) AND (after(k2) OR ...)).
//
// JSON objects and arrays are spliced as text rather than built by json_build_object, row_to_json
// or json_agg: those write `{"a" : 1}` and `[1, 2]`, SQLite writes `{"a":1}` and `[1,2]`, and the
// API's bytes (and so its ETags) should not depend on the engine where the values are the same.

import FeedbaseModel

struct PostgresListing {
    let plan: ListPlan
    let log: PostgresChangeLog

    var collection: CollectionSchema { plan.collection }
    var table: String { PostgresSQL.identifier(collection.name) }

    /// Columns: head, total, remaining (both NULL without count), item JSON, cursor JSON; one row
    /// with NULL item and cursor when the page is empty. At most limit + 1 items (the extra one
    /// says that more follow).
    func statement() throws -> PostgresBoundSQL {
        var sql = PostgresBoundSQL()
        let filters = PostgresConditions(collection: collection, row: table).whereClause(plan.filter, into: &sql)
        var conditions = filters
        var keyset: String?
        if let after = plan.after {
            let condition = try Self.keysetCondition(after: after, keys: plan.keys, row: table, into: &sql)
            keyset = condition
            conditions.append(condition)
        }
        let object = try Self.object(plan.members, row: table, into: &sql)
        let cursor = Self.cursor(plan.keys, signature: plan.signature, row: table)
        let orderBy = Self.orderBy(plan.keys, row: table)
        let whereText = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        var counts = "NULL::bigint AS total, NULL::bigint AS remaining"
        if plan.count {
            let filtered = filters.isEmpty ? "" : " WHERE " + filters.joined(separator: " AND ")
            let remaining = keyset.map { keyset in
                "(SELECT count(*) FROM \(table) WHERE " + (filters + [keyset]).joined(separator: " AND ") + ")"
            } ?? "NULL::bigint"
            counts = "(SELECT count(*) FROM \(table)\(filtered)) AS total, \(remaining) AS remaining"
        }
        let limit = sql.bind(Int64(plan.limit) + 1)
        let offset = sql.bind(Int64(plan.offset))
        sql.text = """
            SELECT h.head, h.total, h.remaining, p.item, p.cursor
            FROM (SELECT (SELECT head FROM \(log.ticket)) AS head, \(counts)) h
            LEFT JOIN LATERAL (
                SELECT \(object) AS item, \(cursor) AS cursor, \(Self.sortColumns(plan.keys, row: table))
                FROM \(table)\(whereText)
                ORDER BY \(orderBy)
                LIMIT \(limit) OFFSET \(offset)
            ) p ON true
            ORDER BY \(Self.orderBySortColumns(plan.keys, of: "p"))
            """
        return sql
    }

    static func orderBy(_ keys: [SortKey], row: String) -> String {
        keys.map { key in PostgresConditions.comparable(key.column, row: row) + direction(key) }.joined(separator: ", ")
    }

    static func direction(_ key: SortKey) -> String { key.descending ? " DESC NULLS LAST" : " ASC NULLS FIRST" }

    /// The sort values as columns `k1`, `k2`, ... of a subquery (their collation goes with them),
    /// so that the query around it orders its few rows again, by the same keys: a join or an
    /// aggregate over the subquery promises no order of its own, and a row number over the whole
    /// sort would keep PostgreSQL from its top-N sort under the LIMIT.
    static func sortColumns(_ keys: [SortKey], row: String) -> String {
        keys.enumerated().map { index, key in PostgresConditions.comparable(key.column, row: row) + " AS k\(index + 1)" }.joined(separator: ", ")
    }

    static func orderBySortColumns(_ keys: [SortKey], of alias: String) -> String {
        keys.enumerated().map { index, key in "\(alias).k\(index + 1)" + direction(key) }.joined(separator: ", ")
    }

    /// The rows after the cursor's values in the order of `keys`, built from the last key outwards.
    static func keysetCondition(after values: [SQLValue], keys: [SortKey], row: String, into sql: inout PostgresBoundSQL) throws -> String {
        var condition = ""
        for (key, value) in zip(keys, values).reversed() {
            let reference = PostgresConditions.comparable(key.column, row: row)
            let after: String
            let same: String
            if value == .null {
                after = key.descending ? "false" : "\(reference) IS NOT NULL"
                same = "\(reference) IS NULL"
            } else {
                guard let operand = PostgresConditions.operand(value, for: key.column, into: &sql) else {
                    throw StoreError.badQuery("after", "not a cursor of this listing; follow the Link rel=\"next\" URL as given")
                }
                after = key.descending ? "(\(reference) < \(operand) OR \(reference) IS NULL)" : "\(reference) > \(operand)"
                same = "\(reference) = \(operand)"
            }
            condition = condition.isEmpty ? after : "(\(after) OR (\(same) AND \(condition)))"
        }
        return condition
    }

    /// A row's cursor as SQLite writes it: `["<signature>", v1, ...]`, a boolean as 0 or 1, a
    /// BLOB key as its base64, every other value as the item's JSON shows it.
    static func cursor(_ keys: [SortKey], signature: String, row: String) -> String {
        let values = keys.map { key -> String in
            let reference = row + "." + PostgresSQL.identifier(key.column.name)
            let value: String
            switch key.column.type {
            case .boolean: value = "CASE WHEN \(reference) THEN 1 WHEN NOT \(reference) THEN 0 END"
            case .date: value = "to_char(\(reference), 'YYYY-MM-DD')"
            default: value = PostgresRowJSON.valueExpression(PostgresColumn(name: key.column.name, type: key.column.declaredType), reference: reference)
            }
            return "coalesce(to_json(\(value))::text, 'null')"
        }
        return "('[' || \(PostgresSQL.literal(JSONText.quote(signature))) || ',' || " + values.joined(separator: " || ',' || ") + " || ']')"
    }

    /// The item's members as one JSON object's text.
    static func object(_ members: [PlanMember], row: String, into sql: inout PostgresBoundSQL) throws -> String {
        guard !members.isEmpty else { return "'{}'" }
        let parts = try members.map { member -> String in
            let value: String
            switch member {
            case .column(let column): value = columnJSON(column, row: row)
            case .embed(_, let embed): value = try embedded(embed, parent: row, into: &sql)
            }
            return PostgresSQL.literal(JSONText.quote(member.key) + ":") + " || " + value
        }
        return "('{' || " + parts.joined(separator: " || ',' || ") + " || '}')"
    }

    /// One column's JSON text ('null' for NULL).
    static func columnJSON(_ column: Column, row: String) -> String {
        let reference = row + "." + PostgresSQL.identifier(column.name)
        let value: String
        switch column.type {
        case .date: value = "to_char(\(reference), 'YYYY-MM-DD')"
        default: value = PostgresRowJSON.valueExpression(PostgresColumn(name: column.name, type: column.declaredType), reference: reference)
        }
        return "coalesce(to_json(\(value))::text, 'null')"
    }

    /// One embedded relation as JSON text: an object or 'null' (to-one), an array (to-many),
    /// from a correlated subquery whose rows are filtered, ordered and limited inside it.
    static func embedded(_ embed: EmbedPlan, parent: String, into sql: inout PostgresBoundSQL) throws -> String {
        let relation = embed.relation
        let target = relation.target
        let alias = PostgresSQL.identifier("e\(embed.depth)")
        var conditions = ["\(alias).\(PostgresSQL.identifier(relation.columns.target)) = \(parent).\(PostgresSQL.identifier(relation.columns.parent))"]
        conditions += PostgresConditions(collection: target, row: alias).whereClause(embed.filter, into: &sql)
        let object = try object(embed.members, row: alias, into: &sql)
        let from = "FROM \(PostgresSQL.identifier(target.name)) AS \(alias) WHERE " + conditions.joined(separator: " AND ")
        guard relation.toMany else { return "coalesce((SELECT \(object) \(from) LIMIT 1), 'null')" }
        let orderBy = orderBy(embed.keys, row: alias)
        let limit = sql.bind(Int64(embed.limit))
        let offset = sql.bind(Int64(embed.offset))
        return "coalesce((SELECT '[' || string_agg(j.o, ',' ORDER BY \(orderBySortColumns(embed.keys, of: "j"))) || ']' "
            + "FROM (SELECT \(object) AS o, \(sortColumns(embed.keys, row: alias)) \(from) ORDER BY \(orderBy) LIMIT \(limit) OFFSET \(offset)) j), '[]')"
    }
}
