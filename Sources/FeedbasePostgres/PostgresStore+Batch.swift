// A batch on PostgreSQL: every operation in one transaction, planned by the model (BatchRun) and
// run through the statements of its single route, so the batch is all or nothing and its events
// are one commit's, consecutive. And the pruning of the change log, by whole commits.

import FeedbaseModel
import PostgresNIO

extension PostgresStore {
    public func batch(_ body: [UInt8], authorize: @escaping @Sendable (BatchAction, String) throws -> Access) async throws -> BatchResult {
        let collections = Dictionary(schema.collections.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let ids = TimeOrderedIDGenerator()
        let (outcomes, seq) = try await writing { write in
            var run = BatchRun(collections: collections, authorize: authorize)
            return try await run.apply(body) { step in
                do { return try await Self.perform(step, ids: ids, write: write) } catch { throw PostgresErrors.storeError(error) }
            }
        }
        return BatchResult(outcomes: outcomes, seq: seq)
    }

    /// One operation, through the statements of its single route.
    private static func perform(_ step: BatchStep, ids: TimeOrderedIDGenerator, write: PostgresWrite) async throws -> BatchOutcome {
        let collection = step.collection, access = step.access, fields = step.fields, preconditions = step.preconditions
        switch (step.action, step.key, step.id) {
        case (.create, _, _):
            guard access.create.isAllowed else { throw forbidden("create items", collection) }
            let row = try await write.row(of: fields, for: collection, mode: .create, makeID: ids.next, access: access)
            let (item, admitted) = try await write.insert(row, into: collection, scope: access.create)
            guard admitted else { throw forbidden("create this item", collection) }
            return .created(item)
        case (.put, let key?, let id?):
            let (item, created) = try await replace(
                collection, key: key, id: id, fields: fields, preconditions: preconditions, access: access, ids: ids, write: write)
            return created ? .created(item) : .changed(item)
        case (.patch, let key?, let id?):
            return .changed(try await patch(
                collection, key: key, id: id, fields: fields, preconditions: preconditions, access: access, ids: ids, write: write))
        case (.delete, let key?, let id?):
            try await delete(collection, key: key, id: id, preconditions: preconditions, access: access, write: write)
            return .deleted
        default:
            throw StoreError(.internal, "an operation without its id")  // BatchRun requires it
        }
    }

    /// Deletes the oldest commits' events: those older than `age`, and all but the newest `keep`.
    /// Only whole commits go, oldest first, so the log stays a suffix and `oldest` stays exact (a
    /// commit across the bound is kept whole); each batch of 500 commits is its own transaction.
    public func pruneChanges(olderThan age: Duration?, keep: Int?) async throws -> Int {
        guard age != nil || keep != nil else { return 0 }
        let log = self.log, logger = self.logger
        do {
            return try await lease.withConnection { connection in
                var boundSQL = PostgresBoundSQL()
                var bounds: [String] = []
                if let age {
                    let (seconds, attoseconds) = age.components
                    let milliseconds = Int64(seconds) * 1000 + attoseconds / 1_000_000_000_000_000
                    bounds.append("(SELECT max(c.last_seq - c.last_ord + e.ord) FROM \(log.commits) c JOIN \(log.events) e "
                        + "ON e.tx = c.tx AND e.ord BETWEEN c.first_ord AND c.last_ord "
                        + "WHERE e.at < clock_timestamp() - \(boundSQL.bind(milliseconds)) * interval '1 millisecond')")
                }
                if let keep { bounds.append("(SELECT head - \(boundSQL.bind(Int64(clamping: keep))) FROM \(log.ticket))") }
                boundSQL.text = "SELECT coalesce(greatest(\(bounds.joined(separator: ", "))), 0)"
                var bound: Int64 = 0
                for try await value in try await connection.query(boundSQL.query, logger: logger).decode(Int64.self) { bound = value }
                guard bound > 0 else { return 0 }
                var deleted = 0
                for _ in 0..<10_000 {
                    var sql = PostgresBoundSQL()
                    sql.text = """
                        WITH gone AS (
                            DELETE FROM \(log.commits) WHERE last_seq IN (
                                SELECT last_seq FROM \(log.commits) WHERE last_seq <= \(sql.bind(bound)) ORDER BY last_seq LIMIT 500)
                            RETURNING tx, first_ord, last_ord),
                        events AS (
                            DELETE FROM \(log.events) e USING gone g WHERE e.tx = g.tx AND e.ord BETWEEN g.first_ord AND g.last_ord RETURNING 1)
                        SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM events)
                        """
                    var commits: Int64 = 0
                    for try await (gone, events) in try await connection.query(sql.query, logger: logger).decode((Int64, Int64).self) {
                        commits = gone
                        deleted += Int(events)
                    }
                    if commits < 500 { break }
                }
                return deleted
            }
        } catch {
            throw PostgresErrors.storeError(error)
        }
    }
}
