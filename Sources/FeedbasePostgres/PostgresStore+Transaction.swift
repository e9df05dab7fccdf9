// How a write of the PostgreSQL engine runs: one transaction on a connection of the pool, and
// the seq of its last event learnt without holding the commit ticket any longer than the commit
// does (docs/POSTGRES.md, "Writes"): the transaction reads its xid and the ticket's head first,
// commits (the deferred trigger takes the ticket then), and reads its own commit's last seq by
// that xid from the commits past that head. Then the node's hub and the other nodes are told.
// A transaction PostgreSQL rolls back to settle a deadlock or a serialization failure is run
// again, up to three times (docs/POSTGRES.md, "Failures").

import FeedbaseModel
import PostgresNIO

extension PostgresStore {
    /// `body` in one transaction, committed before this returns, and the seq of its last event
    /// (the head when it logged none). A failure rolls it all back and is a StoreError.
    func writing<Result: Sendable>(_ body: @escaping @Sendable (PostgresWrite) async throws -> Result) async throws -> (value: Result, seq: Int64) {
        // A deadlock (40P01) or a serialization failure (40001) rolled the whole transaction
        // back: nothing of it was committed or answered, so it is run again from its BEGIN, a
        // bounded number of times, after a short random pause that lets the other side finish.
        // Any other failure, and the last attempt's, is the answer; a lock held past the busy
        // timeout (55P03) among them: its wait was the bound.
        var attempt = 1
        while true {
            do {
                return try await writingOnce(body)
            } catch where attempt < Self.writeAttempts && Self.isRolledBackByConflict(error) {
                attempt += 1
                logger.debug("a write met a deadlock or a serialization failure; running it again", metadata: ["attempt": "\(attempt)"])
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...(20 * attempt))))
            }
        }
    }

    /// Tries of one write before its conflict is answered (503 busy, Retry-After).
    static let writeAttempts = 3

    /// Whether `error` (as `writingOnce` throws it) is a conflict PostgreSQL settled by rolling
    /// this transaction back, in a single write or in any operation of a batch.
    static func isRolledBackByConflict(_ error: any Error) -> Bool {
        if let failure = error as? BatchFailure { return isRolledBackByConflict(failure.error) }
        return (error as? StoreError)?.retryable == true
    }

    private func writingOnce<Result: Sendable>(_ body: @escaping @Sendable (PostgresWrite) async throws -> Result) async throws -> (value: Result, seq: Int64) {
        let collections = Dictionary(schema.collections.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let log = self.log, logger = self.logger
        let outcome: (Result, Int64)
        do {
            outcome = try await lease.withConnection { connection in
                let write = PostgresWrite(connection: connection, collections: collections, namespace: log.schema, logger: logger)
                try await write.run("BEGIN")
                let value: Result
                let tx: String, before: Int64
                do {
                    var start = PostgresBoundSQL()
                    start.text = "SELECT pg_current_xact_id()::text, head FROM \(log.ticket)"
                    guard let row = try await write.rows(start).first else { throw StoreError(.internal, "the commit ticket has no row") }
                    (tx, before) = try row.decode((String, Int64).self)
                    value = try await body(write)
                } catch {
                    // A lost connection fails this too; the server then rolls back by itself.
                    try? await write.run("ROLLBACK")
                    throw error
                }
                try await write.run("COMMIT")
                var seq = PostgresBoundSQL()
                seq.text = "SELECT coalesce((SELECT last_seq FROM \(log.commits) WHERE last_seq > \(seq.bind(before)) "
                    + "AND tx = \(seq.bind(tx))::xid8), (SELECT head FROM \(log.ticket)))"
                guard let row = try await write.rows(seq).first else { throw StoreError(.internal, "no head after the commit") }
                return (value, try row.decode(Int64.self))
            }
        } catch let failure as BatchFailure {
            throw failure
        } catch {
            throw PostgresErrors.storeError(error)
        }
        committed()
        return outcome
    }

    /// After a commit of this node: its own hub at once, the other nodes by NOTIFY (outside the
    /// transaction, asynchronously committed: PostgresCommitSignal), without delaying the answer.
    /// NOTIFYs coalesce: at most one is in flight per node, and commits made meanwhile are covered
    /// by one more sent after it (a NOTIFY sent after a commit covers it), so a burst of writes
    /// costs a few NOTIFYs and leases, not one each.
    private func committed() {
        for observer in observers.withLock({ $0 }) { observer() }
        let start = notifying.withLock { state -> Bool in
            if state.sending {
                state.again = true
                return false
            }
            state.sending = true
            return true
        }
        guard start else { return }
        let client = self.client, logger = self.logger
        Task { [self] in
            repeat {
                do { try await PostgresCommitSignal.notify(on: client, logger: logger) } catch {
                    // The other nodes' slow poll covers a lost signal.
                    logger.debug("NOTIFY after a commit failed", metadata: ["error": "\(PostgresMigrator.describe(error))"])
                }
            } while self.notifying.withLock { state in
                state.sending = state.again
                state.again = false
                return state.sending
            }
        }
    }
}
