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

/// One embedded relation of a listing or an item: `alias:relation!hint(columns, nested...)`
/// with its own filters, order and page (`tasks.done=eq.false&tasks.order=priority.desc`).
public struct Embed: Sendable, Equatable {
    /// Levels of embedding below the item (HTTP answers 400 above).
    public static let maximumDepth = 4
    /// Rows in one embedded array when no `limit` is given, and the most a `limit` may ask.
    public static let maximumLimit = 1_000

    /// The key in the item: the alias, else the relation's name as written.
    public var key: String
    public var relation: String
    /// The foreign key's column, after `!`.
    public var hint: String?
    /// The embedded rows' columns, in order; nil for all.
    public var columns: [String]?
    public var embeds: [Embed] = []
    public var filters: [Filter] = []
    public var groups: [FilterGroup] = []
    /// The read rule of the embedded collection for the caller (as `ListQuery.rule`).
    public var rule: [Filter] = []
    public var order: [Ordering] = []
    public var limit: Int?
    public var offset = 0

    public init(key: String, relation: String, hint: String? = nil, columns: [String]? = nil) {
        self.key = key
        self.relation = relation
        self.hint = hint
        self.columns = columns
    }

    /// The client's conditions here and below.
    public var conditionCount: Int {
        filters.count + groups.reduce(0) { $0 + $1.conditionCount } + embeds.reduce(0) { $0 + $1.conditionCount }
    }
}

/// A foreign key seen from one side: to-one when the parent holds it, to-many when the target does.
public struct Relation: Sendable, Equatable {
    public var target: CollectionSchema
    public var foreignKey: ForeignKey
    public var toMany: Bool
    /// The parent's column and the target's column the rows are joined on.
    public var columns: (parent: String, target: String) { (parentColumn, targetColumn) }
    var parentColumn: String
    var targetColumn: String

    init(parent: CollectionSchema, target: CollectionSchema, foreignKey: ForeignKey, toMany: Bool) {
        self.target = target
        self.foreignKey = foreignKey
        self.toMany = toMany
        if toMany {
            parentColumn = foreignKey.parentColumn ?? parent.primaryKey.name
            targetColumn = foreignKey.column
        } else {
            parentColumn = foreignKey.column
            targetColumn = foreignKey.parentColumn ?? target.primaryKey.name
        }
    }

    /// The relation `name` (with `hint`) of `parent` in `schema`, or a `badQuery` error naming
    /// `parameter` that lists what the name could have been.
    public static func resolve(
        _ name: String, hint: String?, from parent: CollectionSchema, in schema: Schema, parameter: String = "select"
    ) throws -> Relation {
        var found: [Relation] = []
        // To-one: the parent's own foreign keys, by column (without `_id`) or by referenced table.
        for key in parent.foreignKeys {
            guard let target = schema[key.table], hint == nil || hint == key.column else { continue }
            if toOneName(key.column) == name || key.table == name { found.append(Relation(parent: parent, target: target, foreignKey: key, toMany: false)) }
        }
        // To-many: the foreign keys of the table named `name` that reference the parent.
        if let child = schema[name] {
            for key in child.foreignKeys where key.table == parent.name && (hint == nil || hint == key.column) {
                found.append(Relation(parent: parent, target: child, foreignKey: key, toMany: true))
            }
        }
        if found.count == 1 { return found[0] }
        if found.isEmpty {
            let known = relationNames(of: parent, in: schema)
            let hinted = hint.map { " through '\($0)'" } ?? ""
            throw StoreError.badQuery(
                parameter, "\(parent.name) has no relation '\(name)'\(hinted)" + (known.isEmpty ? "" : "; its relations: " + known.joined(separator: ", ")))
        }
        let choices = found.map { "\(name)!\($0.foreignKey.column)" }
        throw StoreError.badQuery(parameter, "'\(name)' is ambiguous in \(parent.name): name the foreign key, as " + choices.joined(separator: " or "))
    }

    /// `project_id` → `project`; a column without the suffix is its own name.
    public static func toOneName(_ column: String) -> String {
        column.count > 3 && column.hasSuffix("_id") ? String(column.dropLast(3)) : column
    }

    /// Every name `resolve` accepts for `parent`, for error messages and documents.
    public static func relationNames(of parent: CollectionSchema, in schema: Schema) -> [String] {
        var names: [String] = []
        // A key column without `_id` is a column's name too (`tasks.project`): its relation goes
        // by the referenced collection (`projects`), which `select=*,...` can always add.
        for key in parent.foreignKeys where schema[key.table] != nil {
            names.append(toOneName(key.column) == key.column ? key.table : toOneName(key.column))
        }
        for child in schema.collections where child.foreignKeys.contains(where: { $0.table == parent.name }) { names.append(child.name) }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}

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
