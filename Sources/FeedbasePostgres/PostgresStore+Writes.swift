// The write half of PostgresStore: each write one transaction on a connection of the pool, with
// SQLite's semantics (SQLiteStore+Resources.swift): the item is read and locked FOR UPDATE with
// its access scopes judged in the same statement, preconditions are checked on it inside the
// transaction, a created or changed row must be in the create or update-check scope afterwards
// (judged in the write's RETURNING), and each write answers the seq of its last event.

import FeedbaseModel
import PostgresNIO

extension PostgresStore {
    public func create(in collectionName: String, body: [UInt8], access: Access) async throws -> Created {
        let collection = try collection(collectionName)
        guard access.create.isAllowed else { throw Self.forbidden("create items", collection) }
        let ids = TimeOrderedIDGenerator()
        var (created, seq) = try await writing { write in
            let created = try await Self.insert(body, into: collection, ids: ids, access: access, write: write)
            // Every created row must be one the identity may create; one that is not fails the
            // whole request.
            for (index, admitted) in created.admitted.enumerated() where !admitted {
                throw Self.forbidden("create this item", collection, pointer: created.isArray ? "/\(index)" : "")
            }
            return Created(items: created.items, isArray: created.isArray)
        }
        created.seq = seq
        for index in created.items.indices { created.items[index].seq = seq }
        return created
    }

    private static func insert(
        _ body: [UInt8], into collection: CollectionSchema, ids: TimeOrderedIDGenerator, access: Access, write: PostgresWrite
    ) async throws -> (items: [Item], admitted: [Bool], isArray: Bool) {
        switch try CreateBody(body, into: collection) {
        case .object(let fields):
            let row = try await write.row(of: fields, for: collection, mode: .create, makeID: ids.next, access: access)
            let (item, admitted) = try await write.insert(row, into: collection, scope: access.create)
            return ([item], [admitted], false)
        case .array(let bulk):
            let rows = try await bulk.rows { fields, pointerPrefix in
                try await write.row(
                    of: fields, for: collection, mode: .create, pointerPrefix: pointerPrefix, makeID: ids.next, access: access,
                    pendingKeys: bulk.pendingKeys)
            }
            // Every item is tried (each in its savepoint); the transaction takes back whatever went in.
            var items: [Item] = []
            var admitted: [Bool] = []
            var problems = InsertProblems()
            for (index, row) in rows.enumerated() {
                do {
                    let (item, isAdmitted) = try await write.insert(row, into: collection, scope: access.create)
                    items.append(item)
                    admitted.append(isAdmitted)
                } catch {
                    try problems.record(error, at: index, in: collection)
                }
            }
            try problems.check()
            return (items, admitted, true)
        }
    }

    public func replace(in collectionName: String, id: String, body: [UInt8], preconditions: Preconditions, access: Access) async throws
        -> (item: Item, created: Bool)
    {
        let collection = try collection(collectionName)
        // An id that cannot be of the key's type names no item, as for GET, PATCH and DELETE.
        guard let key = collection.primaryKey.keyValue(id) else { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        let ids = TimeOrderedIDGenerator()
        var (result, seq) = try await writing { write in
            try await Self.replace(
                collection, key: key, id: id, fields: try RequestBody.fields(ofObject: body), preconditions: preconditions, access: access,
                ids: ids, write: write)
        }
        result.item.seq = seq
        return result
    }

    /// PUT of the body's `fields` (batches resolve their references first); `created` says
    /// whether the item was created.
    static func replace(
        _ collection: CollectionSchema, key: SQLValue, id: String, fields: [BodyField], preconditions: Preconditions, access: Access,
        ids: TimeOrderedIDGenerator, write: PostgresWrite
    ) async throws -> (item: Item, created: Bool) {
        let keyColumn = collection.primaryKey
        var row = try await write.row(of: fields, for: collection, mode: .replace, makeID: ids.next, access: access)
        if let index = row.columns.firstIndex(where: \.isPrimaryKey) {
            let fromBody = fields.contains { $0.key == keyColumn.name }
            if fromBody && !sameKey(row.values[index], key) {
                throw StoreError.invalid([Violation(pointer: RequestBody.pointer("", keyColumn.name), detail: "differs from the id in the URL")])
            }
            row.columns.remove(at: index)
            row.values.remove(at: index)
        }
        let (current, hidden, updatable) = try await write.visible(collection, key: key, id: id, access: access, scope: access.update)
        try preconditions.check(current: current)
        // An id the identity may not see cannot be created either; it answers as absent would.
        if hidden { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        guard current != nil else {
            guard access.create.isAllowed else { throw forbidden("create items", collection) }
            row.columns.insert(keyColumn, at: 0)
            row.values.insert(key, at: 0)
            let (item, admitted) = try await write.insert(row, into: collection, scope: access.create)
            guard admitted else { throw forbidden("create this item", collection) }
            return (item, true)
        }
        guard updatable else { throw forbidden("change this item", collection) }
        var assignments: [(column: Column, value: PostgresWrite.Assignment)] = []
        for column in collection.writableColumns where !column.isPrimaryKey {
            if let index = row.columns.firstIndex(of: column) {
                assignments.append((column, .value(row.values[index])))
            } else {
                assignments.append((column, .byDefault))
            }
        }
        let (item, admitted) = try await write.update(collection, assignments: assignments, row: row, key: key, id: id, scope: access.updateCheck)
        guard admitted else { throw forbidden("change this item so", collection) }
        return (item, false)
    }

    public func patch(in collectionName: String, id: String, body: [UInt8], preconditions: Preconditions, access: Access) async throws -> Item {
        let collection = try collection(collectionName)
        guard let key = collection.primaryKey.keyValue(id) else { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        let ids = TimeOrderedIDGenerator()
        var (item, seq) = try await writing { write in
            try await Self.patch(
                collection, key: key, id: id, fields: try RequestBody.fields(ofObject: body), preconditions: preconditions, access: access,
                ids: ids, write: write)
        }
        item.seq = seq
        return item
    }

    /// PATCH with the merge patch's `fields`.
    static func patch(
        _ collection: CollectionSchema, key: SQLValue, id: String, fields: [BodyField], preconditions: Preconditions, access: Access,
        ids: TimeOrderedIDGenerator, write: PostgresWrite
    ) async throws -> Item {
        let row = try await write.row(of: fields, for: collection, mode: .patch, makeID: ids.next, access: access)
        let (current, _, updatable) = try await write.visible(collection, key: key, id: id, access: access, scope: access.update)
        try preconditions.check(current: current)  // If-Match on a missing item is 412, not 404
        guard let current else { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        guard updatable else { throw forbidden("change this item", collection) }
        var assignments: [(column: Column, value: PostgresWrite.Assignment)] = []
        for (column, value) in zip(row.columns, row.values) {
            if column.isPrimaryKey {
                guard sameKey(value, key) else {
                    throw StoreError.invalid([Violation(pointer: RequestBody.pointer("", column.name), detail: "the primary key cannot be changed")])
                }
                continue
            }
            if column.type == .json, let field = fields.first(where: { $0.key == column.name }), field.type == "object" {
                // RFC 7396 all the way down, on the value as locked: objects merge, null members delete.
                let target = try RequestBody.members(of: current.json).first { $0.key == column.name }
                assignments.append((column, .merged(try JSONMergePatch.apply(field, to: target))))
            } else {
                assignments.append((column, .value(value)))
            }
        }
        guard !assignments.isEmpty else { return current }
        let (item, admitted) = try await write.update(collection, assignments: assignments, row: row, key: key, id: id, scope: access.updateCheck)
        guard admitted else { throw forbidden("change this item so", collection) }
        return item
    }

    public func delete(in collectionName: String, id: String, preconditions: Preconditions, access: Access) async throws -> Int64 {
        let collection = try collection(collectionName)
        guard let key = collection.primaryKey.keyValue(id) else { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        return try await writing { write in
            try await Self.delete(collection, key: key, id: id, preconditions: preconditions, access: access, write: write)
        }.seq
    }

    static func delete(
        _ collection: CollectionSchema, key: SQLValue, id: String, preconditions: Preconditions, access: Access, write: PostgresWrite
    ) async throws {
        let (current, _, deletable) = try await write.visible(collection, key: key, id: id, access: access, scope: access.delete)
        try preconditions.check(current: current)  // If-Match on a missing item is 412, not 404
        guard current != nil else { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        guard deletable else { throw forbidden("delete this item", collection) }
        try await write.delete(collection, key: key)
    }

    static func sameKey(_ a: SQLValue, _ b: SQLValue) -> Bool {
        switch (a, b) {
        case (.integer(let x), .real(let y)), (.real(let y), .integer(let x)): return Double(x) == y
        default: return a == b
        }
    }

    static func forbidden(_ action: String, _ collection: CollectionSchema, pointer: String? = nil) -> StoreError {
        var error = StoreError(.forbidden, "the access rules do not let you \(action) in \(collection.name)")
        if let pointer { error.violations = [Violation(pointer: pointer, detail: "not allowed by the \(collection.name) rules")] }
        return error
    }
}
