// A listing as a plan: the ListQuery checked against the schema, in the order a request's
// mistakes are reported (order, filters, cursor, select and embeds), with every operand typed,
// the total order ending in the primary key, the keyset cursor decoded and every embedded
// relation resolved. An engine renders the plan as one statement and finds no client error.

/// One key of a listing's total order.
public struct SortKey: Sendable, Equatable {
    public let column: Column
    public let descending: Bool
}

/// One member of the items' JSON: a column, or an embedded relation under its key.
package enum PlanMember: Sendable {
    case column(Column)
    case embed(key: String, EmbedPlan)

    package var key: String {
        switch self {
        case .column(let column): column.name
        case .embed(let key, _): key
        }
    }
}

/// An embedded relation: its rows' filters, order (to-many only), page and members.
package struct EmbedPlan: Sendable {
    package let relation: Relation
    package let filter: FilterPlan
    /// The order of a to-many relation's rows, primary key last; empty for a to-one relation.
    package let keys: [SortKey]
    package let members: [PlanMember]
    package let limit: Int
    package let offset: Int
    /// 1 for a relation of the listed items, 2 for one of theirs, ...
    package let depth: Int
}

public struct ListPlan: Sendable {
    public let collection: CollectionSchema
    package let filter: FilterPlan
    package let keys: [SortKey]
    /// The last row's sort values, one per key, from the `after` cursor; nil for a first page.
    package let after: [SQLValue]?
    package let members: [PlanMember]
    package let limit: Int
    package let offset: Int
    package let count: Bool

    /// What a cursor starts with: the order it belongs to, so a cursor of another order is refused.
    package var signature: String { Self.signature(keys) }

    package static func signature(_ keys: [SortKey]) -> String {
        keys.map { $0.column.name + ($0.descending ? ".desc" : ".asc") }.joined(separator: ",")
    }

    package init(_ query: ListQuery, of collection: CollectionSchema, in schema: Schema) throws {
        self.collection = collection
        let keys = try Self.sortKeys(query.order, of: collection)
        self.keys = keys
        filter = try FilterPlan(query, of: collection)
        after = try query.after.map { try Self.cursorValues($0, keys: keys) }
        members = try Self.members(query.select, embeds: query.embeds, of: collection, in: schema)
        limit = query.limit
        offset = query.offset
        count = query.count
    }

    // MARK: Order

    /// The sort keys with the primary key last (once).
    package static func sortKeys(_ order: [Ordering], of collection: CollectionSchema) throws -> [SortKey] {
        var keys: [SortKey] = []
        for ordering in order {
            guard let column = collection.column(ordering.column) else {
                throw StoreError.badQuery("order", "\(collection.name) has no column '\(ordering.column)'")
            }
            guard column.type != .blob && column.type != .json else {
                throw StoreError.badQuery("order", "cannot order by '\(column.name)': a \(column.type.rawValue) column")
            }
            guard !keys.contains(where: { $0.column.name == column.name }) else {
                throw StoreError.badQuery("order", "'\(column.name)' appears twice")
            }
            keys.append(SortKey(column: column, descending: ordering.descending))
            if column.isPrimaryKey { break }  // the key is unique: later keys never matter
        }
        // The key breaks ties in the direction of the last sort key, so that an index on the
        // sort columns (which holds the row's key in ascending order) serves the whole order by
        // a forward or a backward scan, without sorting.
        if !keys.contains(where: { $0.column.isPrimaryKey }) {
            keys.append(SortKey(column: collection.primaryKey, descending: keys.last?.descending ?? false))
        }
        return keys
    }

    // MARK: Cursor

    /// The sort values a cursor carries: base64url (no padding) of a JSON array whose first
    /// element is the order's signature.
    static func cursorValues(_ cursor: String, keys: [SortKey]) throws -> [SQLValue] {
        let invalid = StoreError.badQuery("after", "not a cursor of this listing; follow the Link rel=\"next\" URL as given")
        guard let bytes = Cursor.decode(cursor), JSONBody.isUTF8WithoutNUL(bytes), let document = JSONBody.scan(bytes),
            document.type == "array"
        else { throw invalid }
        let elements = JSONBody.fields(of: document, in: bytes).map { element in
            // `{"base64": "..."}`: its member's value, as `value ->> '$.base64'` reads it.
            guard element.type == "object" else { return element }
            var value = element
            value.atom = JSONBody.members(of: Array(element.json.utf8))?.first { $0.key == "base64" }?.atom ?? .null
            return value
        }
        guard elements.count == keys.count + 1, elements[0].atom == .text(signature(keys)) else {
            throw StoreError.badQuery("after", "the cursor belongs to another order; follow the Link rel=\"next\" URL as given")
        }
        var values: [SQLValue] = []
        for (key, element) in zip(keys, elements.dropFirst()) {
            guard ["null", "integer", "real", "text", "object"].contains(element.type) else { throw invalid }
            var value = element.atom
            // A BLOB sort value (another program's, in a boolean column) is {"base64": "..."}.
            if element.type == "object" {
                guard case .text(let text) = value, let blob = Base64.decode(text) else { throw invalid }
                value = .blob(blob)
            }
            // A BLOB key is its base64 text.
            if key.column.isPrimaryKey, key.column.type == .blob {
                guard case .text(let text) = value, let blob = Base64.decode(text) else { throw invalid }
                value = .blob(blob)
            }
            values.append(value)
        }
        return values
    }

    // MARK: Members

    static func members(
        _ select: [String]?, embeds: [Embed], of collection: CollectionSchema, in schema: Schema,
    ) throws -> [PlanMember] {
        var members = try chosenColumns(select, of: collection).map(PlanMember.column)
        for embed in embeds {
            guard !members.contains(where: { $0.key == embed.key }) else {
                throw StoreError.badQuery("select", clash(embed, in: collection, schema: schema))
            }
            members.append(.embed(key: embed.key, try plan(embed, parent: collection, path: embed.key, depth: 1, schema: schema)))
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

    private static func chosenColumns(_ names: [String]?, of collection: CollectionSchema) throws -> [Column] {
        guard let names else { return collection.columns }
        var chosen: [Column] = []
        for name in names {
            guard let column = collection.column(name) else { throw StoreError.badQuery("select", "\(collection.name) has no column '\(name)'") }
            if !chosen.contains(column) { chosen.append(column) }
        }
        return chosen
    }

    /// One embedded relation; `path` is its dotted path, which its own parameters start with.
    private static func plan(
        _ embed: Embed, parent: CollectionSchema, path: String, depth: Int, schema: Schema,
    ) throws -> EmbedPlan {
        guard depth <= Embed.maximumDepth else {
            throw StoreError.badQuery("select", "embedding nested deeper than \(Embed.maximumDepth) levels")
        }
        let relation = try Relation.resolve(embed.relation, hint: embed.hint, from: parent, in: schema)
        let target = relation.target
        if relation.toMany == false, embed.limit != nil || embed.offset != 0 || !embed.order.isEmpty {
            throw StoreError.badQuery(
                path + (embed.order.isEmpty ? ".limit" : ".order"),
                "'\(path)' embeds one \(target.name) item: order, limit and offset apply to embedded lists only")
        }
        var query = ListQuery()
        query.filters = embed.filters
        query.groups = embed.groups
        query.rule = embed.rule
        let filter: FilterPlan
        do {
            filter = try FilterPlan(query, of: target)
        } catch let error as StoreError where error.kind == .badQuery {
            // The filter's own parameter is the column or group: name it with the path.
            throw StoreError.badQuery(path + "." + (error.parameter ?? ""), error.message)
        }
        var members = try chosenColumns(embed.columns, of: target).map(PlanMember.column)
        for child in embed.embeds {
            guard !members.contains(where: { $0.key == child.key }) else {
                throw StoreError.badQuery("select", "'\(child.key)' names a column and an embedded relation in \(path); give the relation an alias")
            }
            members.append(.embed(
                key: child.key, try plan(child, parent: target, path: path + "." + child.key, depth: depth + 1, schema: schema)))
        }
        var keys: [SortKey] = []
        if relation.toMany {
            do { keys = try sortKeys(embed.order, of: target) } catch let error as StoreError where error.kind == .badQuery {
                throw StoreError.badQuery(path + ".order", error.message)
            }
        }
        return EmbedPlan(
            relation: relation, filter: filter, keys: keys, members: members, limit: embed.limit ?? Embed.maximumLimit,
            offset: embed.offset, depth: depth)
    }
}

/// Keyset cursors as they travel in URLs: base64url without padding.
package enum Cursor {
    package static func encode(_ json: String) -> String {
        var text = Base64.encode(Array(json.utf8))
        while text.hasSuffix("=") { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    package static func decode(_ cursor: String) -> [UInt8]? {
        let bytes = Array(cursor.utf8)
        guard !bytes.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "=") }) else { return nil }
        let standard = bytes.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 == UInt8(ascii: "_") ? UInt8(ascii: "/") : $0 }
        return Base64.decode(String(decoding: standard, as: UTF8.self))
    }
}
