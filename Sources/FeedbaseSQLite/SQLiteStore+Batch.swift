// A batch of writes across collections as one write job: every operation runs in the job's
// savepoint through the same statements as its single route, so the group committer makes the
// batch all or nothing and its events consecutive. The body is planned, operation by operation,
// by the model (BatchRun).

import FeedbaseModel

extension SQLiteStore {
    /// Applies the operations of `body` (a JSON array, docs/API.md "Batches") in order in one
    /// transaction, committed durably before this returns. `authorize` is asked for each
    /// operation's access before it runs, and may throw to refuse it. Any failure undoes the
    /// whole batch and is thrown as a `BatchFailure`.
    public func batch(_ body: [UInt8], authorize: @escaping @Sendable (BatchAction, String) throws -> Access) async throws -> BatchResult {
        let collections = self.collections, itemSQL = self.itemSQL, ids = self.ids, feed = feedEnabled
        return try await database.write { connection in
            var run = BatchRun(collections: collections, authorize: authorize)
            let outcomes = try run.apply(body) { step in
                try Self.perform(step, itemSQL: itemSQL[step.collection.name] ?? "", ids: ids, collections: collections, on: connection)
            }
            return BatchResult(outcomes: outcomes, seq: try Self.head(feed, connection))
        }
    }

    /// One operation, through the statements of its single route.
    private static func perform(
        _ step: BatchStep, itemSQL: String, ids: TimeOrderedIDGenerator, collections: [String: CollectionSchema], on connection: Connection
    ) throws -> BatchOutcome {
        let collection = step.collection, access = step.access, fields = step.fields, preconditions = step.preconditions
        switch (step.action, step.key, step.id) {
        case (.create, _, _):
            guard access.create.isAllowed else { throw forbidden("create items", collection) }
            let row = try row(of: fields, for: collection, mode: .create, makeID: ids.next, access: access, collections: collections, on: connection)
            let item = try insert(row, into: collection, on: connection)
            guard let key = collection.primaryKey.keyValue(item.id), try admits(access.create, collection, key: key, on: connection)
            else { throw forbidden("create this item", collection) }
            return .created(item)
        case (.put, let key?, let id?):
            let (item, created) = try replace(
                collection, itemSQL: itemSQL, key: key, id: id, fields: fields, preconditions: preconditions, access: access,
                ids: ids, collections: collections, on: connection)
            return created ? .created(item) : .changed(item)
        case (.patch, let key?, let id?):
            return .changed(try patch(
                collection, itemSQL: itemSQL, key: key, id: id, fields: fields, preconditions: preconditions, access: access,
                ids: ids, collections: collections, on: connection))
        case (.delete, let key?, let id?):
            try delete(
                collection, itemSQL: itemSQL, key: key, id: id, preconditions: preconditions, access: access, collections: collections,
                on: connection)
            return .deleted
        default:
            throw StoreError(.internal, "an operation without its id")  // BatchRun requires it
        }
    }
}
