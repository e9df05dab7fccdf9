// Related rows embedded in an item through foreign keys (planned in FeedbaseModel/ListPlan.swift),
// built by SQLite in the listing's own statement: a to-one relation is a correlated subquery
// giving one object (or null), a to-many one a correlated subquery giving an array, its rows
// filtered, ordered and limited inside it.
// The foreign key's index serves the correlation (`SEARCH ... USING INDEX`), so a page of N
// items costs N index lookups per relation, never a query per row from the server.
//
// Names (docs/API.md, "Embedding"): a to-one relation is named by its foreign-key column without
// `_id` (`project_id` → `project`), or by the referenced table (the only name listed when the
// column has no `_id`, since the column's own name is taken by the column); a to-many relation by the
// referencing table (`tasks`). `name!column` picks the foreign key by its column when a table
// has two to the same one.

import FeedbaseModel

extension Listing {
    /// The item's members as SQL: its columns, and its embedded relations.
    func members(_ members: [PlanMember], into sql: inout BoundSQL, on connection: Connection) throws -> [(key: String, value: String)] {
        try members.map { member in
            switch member {
            case .column(let column): (key: column.name, value: RowJSON.valueExpression(column))
            case .embed(let key, let embed): (key: key, value: try Self.embedded(embed, parentReference: quoteIdentifier(collection.name), into: &sql, on: connection))
            }
        }
    }

    /// One embedded relation as a SQL expression giving JSON (an object or null, or an array).
    private static func embedded(_ embed: EmbedPlan, parentReference: String, into sql: inout BoundSQL, on connection: Connection) throws -> String {
        let relation = embed.relation
        let target = relation.target
        let alias = quoteIdentifier("e\(embed.depth)")
        var conditions = ["\(alias).\(quoteIdentifier(relation.columns.target)) = \(parentReference).\(quoteIdentifier(relation.columns.parent))"]
        conditions += try SQLConditions(collection: target, connection: connection).whereClause(embed.filter, into: &sql)
        let members = try embed.members.map { member in
            switch member {
            case .column(let column): (key: column.name, value: RowJSON.valueExpression(column, table: "e\(embed.depth)"))
            case .embed(let key, let child): (key: key, value: try embedded(child, parentReference: alias, into: &sql, on: connection))
            }
        }
        let object = RowJSON.object(members)
        let from = "FROM \(quoteIdentifier(target.name)) AS \(alias) WHERE " + conditions.joined(separator: " AND ")
        guard relation.toMany else { return "json((SELECT \(object) \(from) LIMIT 1))" }
        let orderBy = embed.keys.map { "\(alias).\(quoteIdentifier($0.column.name))" + ($0.descending ? " DESC" : " ASC") }.joined(separator: ", ")
        let limit = sql.bind(.integer(Int64(embed.limit)))
        let offset = sql.bind(.integer(Int64(embed.offset)))
        return "json((SELECT json_group_array(json(j)) FROM (SELECT \(object) AS j \(from) ORDER BY \(orderBy) LIMIT \(limit) OFFSET \(offset))))"
    }
}
