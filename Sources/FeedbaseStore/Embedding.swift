// Related rows embedded in an item through foreign keys, built by SQLite in the listing's own
// statement: a to-one relation is a correlated subquery giving one object (or null), a to-many
// one a correlated subquery giving an array, its rows filtered, ordered and limited inside it.
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
    /// The item's members: its columns (`query.select`, else all) and its embedded relations.
    func members(into sql: inout BoundSQL, on connection: Connection, schema: Schema) throws -> [(key: String, value: String)] {
        let columns = try chosenColumns(query.select, of: collection, parameter: "select")
        var members = columns.map { (key: $0.name, value: RowJSON.valueExpression($0)) }
        for embed in query.embeds {
            guard !members.contains(where: { $0.key == embed.key }) else {
                throw StoreError.badQuery("select", Self.clash(embed, in: collection, schema: schema))
            }
            members.append((embed.key, try embedded(embed, parent: collection, parentReference: quoteIdentifier(collection.name), path: embed.key, depth: 1, into: &sql, on: connection, schema: schema)))
        }
        return members
    }

    /// Why `embed` cannot take its key, and exactly what to write instead.
    private static func clash(_ embed: Embed, in collection: CollectionSchema, schema: Schema) -> String {
        guard let reference = collection.column(embed.key)?.references, schema[reference.table] != nil else {
            return "'\(embed.key)' names a column and an embedded relation; give the relation an alias (other:\(embed.relation)(...))"
        }
        // The referenced collection's name, with the key's column when it alone is ambiguous.
        let unambiguous = (try? Relation.resolve(reference.table, hint: nil, from: collection, in: schema))?.foreignKey == reference
        let name = unambiguous ? reference.table : "\(reference.table)!\(reference.column)"
        return "'\(embed.key)' is a column of \(collection.name) as well as its relation to \(reference.table): "
            + "embed it as \(name)(...), or under another key (\(embed.key)_item:\(embed.relation)(...))"
    }

    private func chosenColumns(_ names: [String]?, of collection: CollectionSchema, parameter: String) throws -> [Column] {
        guard let names else { return collection.columns }
        var chosen: [Column] = []
        for name in names {
            guard let column = collection.column(name) else { throw StoreError.badQuery(parameter, "\(collection.name) has no column '\(name)'") }
            if !chosen.contains(column) { chosen.append(column) }
        }
        return chosen
    }

    /// One embedded relation as a SQL expression giving JSON (an object or null, or an array).
    /// `path` is the relation's dotted path, which its own parameters start with.
    private func embedded(
        _ embed: Embed, parent: CollectionSchema, parentReference: String, path: String, depth: Int,
        into sql: inout BoundSQL, on connection: Connection, schema: Schema
    ) throws -> String {
        guard depth <= Embed.maximumDepth else {
            throw StoreError.badQuery("select", "embedding nested deeper than \(Embed.maximumDepth) levels")
        }
        let relation = try Relation.resolve(embed.relation, hint: embed.hint, from: parent, in: schema)
        let target = relation.target
        if relation.toMany == false, embed.limit != nil || embed.offset != 0 || !embed.order.isEmpty {
            throw StoreError.badQuery(path + (embed.order.isEmpty ? ".limit" : ".order"), "'\(path)' embeds one \(target.name) item: order, limit and offset apply to embedded lists only")
        }
        let alias = quoteIdentifier("e\(depth)")
        var query = ListQuery()
        query.filters = embed.filters
        query.groups = embed.groups
        query.rule = embed.rule
        query.order = embed.order
        let listing = Listing(collection: target, query: query)
        var conditions = ["\(alias).\(quoteIdentifier(relation.columns.target)) = \(parentReference).\(quoteIdentifier(relation.columns.parent))"]
        do {
            conditions += try listing.whereClause(into: &sql, on: connection)
        } catch let error as StoreError where error.kind == .badQuery {
            // The filter's own parameter is the column or group: name it with the path.
            throw StoreError.badQuery(path + "." + (error.parameter ?? ""), error.message)
        }
        var members = try chosenColumns(embed.columns, of: target, parameter: "select").map {
            (key: $0.name, value: RowJSON.valueExpression($0, table: "e\(depth)"))
        }
        for child in embed.embeds {
            guard !members.contains(where: { $0.key == child.key }) else {
                throw StoreError.badQuery("select", "'\(child.key)' names a column and an embedded relation in \(path); give the relation an alias")
            }
            members.append((child.key, try embedded(child, parent: target, parentReference: alias, path: path + "." + child.key, depth: depth + 1, into: &sql, on: connection, schema: schema)))
        }
        let object = RowJSON.object(members)
        let from = "FROM \(quoteIdentifier(target.name)) AS \(alias) WHERE " + conditions.joined(separator: " AND ")
        guard relation.toMany else { return "json((SELECT \(object) \(from) LIMIT 1))" }
        let keys: [(column: Column, descending: Bool)]
        do { keys = try listing.sortKeys } catch let error as StoreError where error.kind == .badQuery {
            throw StoreError.badQuery(path + ".order", error.message)
        }
        let orderBy = keys.map { "\(alias).\(quoteIdentifier($0.column.name))" + ($0.descending ? " DESC" : " ASC") }.joined(separator: ", ")
        let limit = sql.bind(.integer(Int64(embed.limit ?? Embed.maximumLimit)))
        let offset = sql.bind(.integer(Int64(embed.offset)))
        return "json((SELECT json_group_array(json(j)) FROM (SELECT \(object) AS j \(from) ORDER BY \(orderBy) LIMIT \(limit) OFFSET \(offset))))"
    }
}
