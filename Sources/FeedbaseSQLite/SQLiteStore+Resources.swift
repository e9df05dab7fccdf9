// The resource operations of SQLiteStore: reads on the reader pool, writes as jobs of the group
// committing writer. Preconditions are checked inside the write's own savepoint, so the check
// and the change are one atomic step.

import FeedbaseModel

extension SQLiteStore {
    public func item(in collectionName: String, id: String, access: Access) async throws -> Item? {
        try await withCheckedThrowingContinuation { continuation in
            item(in: collectionName, id: id, access: access) { continuation.resume(with: $0) }
        }
    }

    public func item(
        in collectionName: String, id: String, access: Access, completion: @escaping @Sendable (Result<Item?, any Error>) -> Void
    ) {
        let collection: CollectionSchema
        do { collection = try self.collection(collectionName) } catch { return completion(.failure(error)) }
        guard let key = collection.primaryKey.keyValue(id), let sql = itemSQL[collection.name] else {
            return completion(.success(nil))
        }
        switch access.read {
        case .none:
            completion(.success(nil))
        case .all:
            database.readStatement({ connection in
                try connection.query(sql, [key]) { Item(id: id, json: $0.textBytes(0), seq: $0.int64(1)) }.first
            }, completion: completion)
        case .rows(let filters):
            // The same statement with the rule's conditions: a hidden row costs what an absent one does.
            database.read({ connection in
                var bound = BoundSQL()
                _ = bound.bind(key)
                let conditions = try SQLConditions.rule(filters, of: collection, into: &bound, on: connection)
                return try connection.query(sql + conditions.map { " AND " + $0 }.joined(), bound.values) {
                    Item(id: id, json: $0.textBytes(0), seq: $0.int64(1))
                }.first
            }, completion: completion)
        }
    }

    public func list(in collectionName: String, query: ListQuery) async throws -> Page {
        try await withCheckedThrowingContinuation { continuation in
            list(in: collectionName, query: query) { continuation.resume(with: $0) }
        }
    }

    public func list(in collectionName: String, query: ListQuery, completion: @escaping @Sendable (Result<Page, any Error>) -> Void) {
        let listing: Listing
        do { listing = Listing(collection: try collection(collectionName), query: query) } catch { return completion(.failure(error)) }
        let feed = feedEnabled
        let head = feed ? "(SELECT seq FROM sqlite_sequence WHERE name = '_changes')" : "0"
        let schema = self.schema
        // The rows carry the change head; an empty page reads it in the same snapshot.
        database.read({ connection in
            var page = try listing.page(on: connection, head: head, schema: schema)
            if page.itemCount == 0 { page.seq = try Self.head(feed, connection) }
            return page
        }, completion: completion)
    }

    /// `filters` as a predicate over items of the collection, typed and checked as a listing
    /// with those filters would be (the same errors for the same mistakes).
    public func predicate(in collectionName: String, filters: [Filter], groups: [FilterGroup], rule: [Filter]) async throws -> RowPredicate {
        var filtering = ListQuery()
        filtering.filters = filters
        filtering.groups = groups
        filtering.rule = rule
        let collection = try collection(collectionName)
        return try FilterPlan(filtering, of: collection).predicate(of: collection)
    }

    public func create(in collectionName: String, body: [UInt8], access: Access) async throws -> Created {
        let collection = try collection(collectionName)
        guard access.create.isAllowed else { throw Self.forbidden("create items", collection) }
        let ids = self.ids, collections = self.collections
        let feed = feedEnabled
        return try await database.write { connection in
            var created = try Self.insert(body, into: collection, ids: ids, access: access, collections: collections, on: connection)
            // Every created row must be one the identity may create; one that is not fails the
            // whole request (the savepoint takes back every row and event of it).
            for (index, item) in created.items.enumerated() {
                guard let key = collection.primaryKey.keyValue(item.id),
                    try Self.admits(access.create, collection, key: key, on: connection)
                else { throw Self.forbidden("create this item", collection, pointer: created.isArray ? "/\(index)" : "") }
            }
            created.seq = try Self.head(feed, connection)
            for index in created.items.indices { created.items[index].seq = created.seq }
            return created
        }
    }

    private static func insert(
        _ body: [UInt8], into collection: CollectionSchema, ids: TimeOrderedIDGenerator, access: Access,
        collections: [String: CollectionSchema], on connection: Connection
    ) throws -> Created {
        switch try CreateBody(body, into: collection) {
        case .object(let fields):
            let row = try Self.row(
                of: fields, for: collection, mode: .create, makeID: ids.next, access: access, collections: collections, on: connection)
            return Created(items: [try Self.insert(row, into: collection, on: connection)], isArray: false)
        case .array(let bulk):
            let rows = try bulk.rows { fields, pointerPrefix in
                try Self.row(
                    of: fields, for: collection, mode: .create, pointerPrefix: pointerPrefix, makeID: ids.next, access: access,
                    collections: collections, pendingKeys: bulk.pendingKeys, on: connection)
            }
            // Every item is tried; the request's savepoint takes back whatever went in.
            var items: [Item] = []
            var problems = InsertProblems()
            for (index, row) in rows.enumerated() {
                do {
                    items.append(try Self.insert(row, into: collection, on: connection))
                } catch {
                    try problems.record(error, at: index, in: collection)
                }
            }
            try problems.check()
            return Created(items: items, isArray: true)
        }
    }

    public func replace(in collectionName: String, id: String, body: [UInt8], preconditions: Preconditions, access: Access) async throws
        -> (item: Item, created: Bool)
    {
        let collection = try collection(collectionName)
        let keyColumn = collection.primaryKey
        let ids = self.ids, collections = self.collections
        // An id that cannot be of the key's type names no item, as for GET, PATCH and DELETE.
        guard let key = keyColumn.keyValue(id) else {
            throw StoreError.notFound("no item '\(id)' in \(collection.name)")
        }
        let feed = feedEnabled
        let itemSQL = try itemStatement(collection)
        return try await database.write { connection in
            var (item, created) = try Self.replace(
                collection, itemSQL: itemSQL, key: key, id: id, fields: try RequestBody.fields(ofObject: body),
                preconditions: preconditions, access: access, ids: ids, collections: collections, on: connection)
            item.seq = try Self.head(feed, connection)
            return (item, created)
        }
    }

    /// PUT of the body's `fields` (batches resolve their references first); the Bool says
    /// whether the item was created.
    static func replace(
        _ collection: CollectionSchema, itemSQL: String, key: SQLValue, id: String, fields: [BodyField], preconditions: Preconditions,
        access: Access, ids: TimeOrderedIDGenerator, collections: [String: CollectionSchema], on connection: Connection
    ) throws -> (Item, Bool) {
        let keyColumn = collection.primaryKey
        let pointer = RequestBody.pointer("", keyColumn.name)
        var row = try Self.row(
            of: fields, for: collection, mode: .replace, makeID: ids.next, access: access, collections: collections, on: connection)
        if let index = row.columns.firstIndex(where: \.isPrimaryKey) {
            let fromBody = fields.contains { $0.key == keyColumn.name }
            if fromBody && !Self.sameKey(row.values[index], key) {
                throw StoreError.invalid([Violation(pointer: pointer, detail: "differs from the id in the URL")])
            }
            row.columns.remove(at: index)
            row.values.remove(at: index)
        }
        let (current, hidden) = try Self.visible(itemSQL, collection, key: key, id: id, access: access, on: connection)
        try preconditions.check(current: current)
        // An id the identity may not see cannot be created either; it answers as absent would
        // to a GET (with ids chosen by the client, PUT cannot hide that the id is taken).
        if hidden { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        guard current != nil else {
            guard access.create.isAllowed else { throw Self.forbidden("create items", collection) }
            row.columns.insert(keyColumn, at: 0)
            row.values.insert(key, at: 0)
            let item = try Self.insert(row, into: collection, on: connection)
            guard try Self.admits(access.create, collection, key: key, on: connection) else { throw Self.forbidden("create this item", collection) }
            return (item, true)
        }
        guard try Self.admits(access.update, collection, key: key, on: connection) else { throw Self.forbidden("change this item", collection) }
        var sql = BoundSQL()
        var assignments: [(column: Column, value: String)] = []
        for column in collection.writableColumns where !column.isPrimaryKey {
            if let index = row.columns.firstIndex(of: column) {
                assignments.append((column, sql.bind(row.values[index])))
            } else {
                assignments.append((column, column.defaultSQL.map { "(\($0))" } ?? "NULL"))
            }
        }
        let item = try reporting(row, in: collection) {
            try Self.update(collection, assignments: assignments, key: key, id: id, sql: &sql, collections: collections, on: connection)
        }
        guard try Self.admits(access.updateCheck, collection, key: key, on: connection) else {
            throw Self.forbidden("change this item so", collection)
        }
        return (item, false)
    }

    public func patch(in collectionName: String, id: String, body: [UInt8], preconditions: Preconditions, access: Access) async throws -> Item {
        let collection = try collection(collectionName)
        let keyColumn = collection.primaryKey
        let ids = self.ids, collections = self.collections
        guard let key = keyColumn.keyValue(id) else {
            throw StoreError.notFound("no item '\(id)' in \(collection.name)")
        }
        let feed = feedEnabled
        let itemSQL = try itemStatement(collection)
        return try await database.write { connection in
            var item = try Self.patch(
                collection, itemSQL: itemSQL, key: key, id: id, fields: try RequestBody.fields(ofObject: body),
                preconditions: preconditions, access: access, ids: ids, collections: collections, on: connection)
            item.seq = try Self.head(feed, connection)
            return item
        }
    }

    /// PATCH with the merge patch's `fields`.
    static func patch(
        _ collection: CollectionSchema, itemSQL: String, key: SQLValue, id: String, fields: [BodyField], preconditions: Preconditions,
        access: Access, ids: TimeOrderedIDGenerator, collections: [String: CollectionSchema], on connection: Connection
    ) throws -> Item {
        let row = try Self.row(
            of: fields, for: collection, mode: .patch, makeID: ids.next, access: access, collections: collections, on: connection)
        let (current, _) = try Self.visible(itemSQL, collection, key: key, id: id, access: access, on: connection)
        try preconditions.check(current: current)  // If-Match on a missing item is 412, not 404
        guard let current else { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        guard try Self.admits(access.update, collection, key: key, on: connection) else { throw Self.forbidden("change this item", collection) }
        var sql = BoundSQL()
        var assignments: [(column: Column, value: String)] = []
        for (column, value) in zip(row.columns, row.values) {
            let name = quoteIdentifier(column.name)
            if column.isPrimaryKey {
                guard Self.sameKey(value, key) else {
                    throw StoreError.invalid([Violation(
                        pointer: RequestBody.pointer("", column.name), detail: "the primary key cannot be changed")])
                }
                continue
            }
            let field = fields.first { $0.key == column.name }
            if column.type == .json, field?.type == "object" {
                // RFC 7396 all the way down: objects merge recursively, null members delete.
                let target = "CASE WHEN json_valid(\(name)) THEN \(name) ELSE 'null' END"
                assignments.append((column, "json_patch(\(target), \(sql.bind(value)))"))
            } else {
                assignments.append((column, sql.bind(value)))
            }
        }
        guard !assignments.isEmpty else { return current }
        let item = try reporting(row, in: collection) {
            try Self.update(collection, assignments: assignments, key: key, id: id, sql: &sql, collections: collections, on: connection)
        }
        guard try Self.admits(access.updateCheck, collection, key: key, on: connection) else {
            throw Self.forbidden("change this item so", collection)
        }
        return item
    }

    public func delete(in collectionName: String, id: String, preconditions: Preconditions, access: Access) async throws -> Int64 {
        let collection = try collection(collectionName)
        guard let key = collection.primaryKey.keyValue(id) else {
            throw StoreError.notFound("no item '\(id)' in \(collection.name)")
        }
        let feed = feedEnabled, collections = self.collections
        let itemSQL = try itemStatement(collection)
        return try await database.write { connection in
            try Self.delete(
                collection, itemSQL: itemSQL, key: key, id: id, preconditions: preconditions, access: access, collections: collections,
                on: connection)
            return try Self.head(feed, connection)
        }
    }

    static func delete(
        _ collection: CollectionSchema, itemSQL: String, key: SQLValue, id: String, preconditions: Preconditions, access: Access,
        collections: [String: CollectionSchema], on connection: Connection
    ) throws {
        let (current, _) = try Self.visible(itemSQL, collection, key: key, id: id, access: access, on: connection)
        try preconditions.check(current: current)  // If-Match on a missing item is 412, not 404
        guard current != nil else { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        guard try Self.admits(access.delete, collection, key: key, on: connection) else { throw Self.forbidden("delete this item", collection) }
        let sql = "DELETE FROM \(quoteIdentifier(collection.name)) WHERE \(quoteIdentifier(collection.primaryKey.name)) = ?1"
        try deleting(collection, key: key, collections: collections, on: connection) { _ = try connection.run(sql, [key]) }
    }

    // MARK: Statements shared by the operations

    static func head(_ feed: Bool, _ connection: Connection) throws -> Int64 {
        feed ? try ChangeLog.head(on: connection) : 0
    }

    /// The item as the identity sees it now: nil when absent or hidden (and `hidden` says which),
    /// so that preconditions, answers and ETags treat a hidden item exactly as an absent one.
    static func visible(
        _ itemSQL: String, _ collection: CollectionSchema, key: SQLValue, id: String, access: Access, on connection: Connection
    ) throws -> (item: Item?, hidden: Bool) {
        guard let item = try current(itemSQL, key: key, id: id, on: connection) else { return (nil, false) }
        return try admits(access.read, collection, key: key, on: connection) ? (item, false) : (nil, true)
    }

    /// The item as it is now, read with `itemSQL` (the store's cached statement for its collection).
    static func current(_ itemSQL: String, key: SQLValue, id: String, on connection: Connection) throws -> Item? {
        try connection.query(itemSQL, [key]) { Item(id: id, json: $0.textBytes(0)) }.first
    }

    /// The cached statement reading one item of `collection`.
    func itemStatement(_ collection: CollectionSchema) throws -> String {
        guard let sql = itemSQL[collection.name] else { throw StoreError.notFound("no collection named '\(collection.name)'") }
        return sql
    }

    static func insert(_ row: RowValues, into collection: CollectionSchema, on connection: Connection) throws -> Item {
        let table = quoteIdentifier(collection.name)
        let returning = "RETURNING \(RowJSON.keyTextExpression(collection)), \(RowJSON.objectExpression(collection))"
        let sql: String
        if row.columns.isEmpty {
            sql = "INSERT INTO \(table) DEFAULT VALUES \(returning)"
        } else {
            let names = row.columns.map { quoteIdentifier($0.name) }.joined(separator: ", ")
            let placeholders = (1...row.columns.count).map { "?\($0)" }.joined(separator: ", ")
            sql = "INSERT INTO \(table) (\(names)) VALUES (\(placeholders)) \(returning)"
        }
        let items = try reporting(row, in: collection) {
            try naming(collection) {
                try connection.query(sql, row.values) { Item(id: $0.text(0) ?? "", json: $0.textBytes(1)) }
            }
        }
        guard let item = items.first else { throw StoreError(.internal, "INSERT returned no row") }
        return item
    }

    /// The UPDATE of the item `key` with `assignments` (a column and its new value's SQL).
    private static func update(
        _ collection: CollectionSchema, assignments: [(column: Column, value: String)], key: SQLValue, id: String, sql: inout BoundSQL,
        collections: [String: CollectionSchema], on connection: Connection
    ) throws -> Item {
        let keyPlaceholder = sql.bind(key)
        let set = assignments.map { "\(quoteIdentifier($0.column.name)) = \($0.value)" }.joined(separator: ", ")
        sql.text = "UPDATE \(quoteIdentifier(collection.name)) SET \(set) "
            + "WHERE \(quoteIdentifier(collection.primaryKey.name)) = \(keyPlaceholder) RETURNING \(RowJSON.objectExpression(collection))"
        let statement = sql
        let items = try updating(collection, assignments: assignments, keyPlaceholder: keyPlaceholder, values: statement.values, collections: collections, on: connection) {
            try naming(collection) {
                try connection.query(statement.text, statement.values) { Item(id: id, json: $0.textBytes(0)) }
            }
        }
        guard let item = items.first else { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        return item
    }

    static func sameKey(_ a: SQLValue, _ b: SQLValue) -> Bool {
        switch (a, b) {
        case (.integer(let x), .real(let y)), (.real(let y), .integer(let x)): return Double(x) == y
        default: return a == b
        }
    }
}
