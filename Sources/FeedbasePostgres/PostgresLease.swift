// A connection of the pool, waited for a bounded time (docs/POSTGRES.md, "Failures"). While it
// cannot connect (the server is down or restarting), postgres-nio's pool queues every lease
// until its circuit breaker trips, 60 s after the first failed attempt: without a bound a request
// would hang for a minute instead of answering 503. Only the wait is bounded: once a connection
// is leased the work runs to its end (cutting a write short would make its outcome unknown for
// nothing).
//
// Two bounds. `timeout` while the database answers: past it the pool is saturated or the server
// gone. `outageTimeout` once a lease timed out or a connection failed, until a lease is served
// again: during an outage each request answers 503 at once rather than after `timeout`, and the
// pool, which goes on reconnecting by itself (its own backoff), ends the outage with the first
// connection it makes.

import FeedbaseModel
import PostgresNIO
import Synchronization

public final class PostgresLease: Sendable {
    public let client: PostgresClient
    public let timeout: Duration
    public let outageTimeout: Duration
    private let outage = Atomic<Bool>(false)

    public init(client: PostgresClient, timeout: Duration = .seconds(5), outageTimeout: Duration = .milliseconds(500)) {
        self.client = client
        self.timeout = timeout
        self.outageTimeout = outageTimeout
    }

    /// Whether the last lease or connection failed and none was served since.
    public var inOutage: Bool { outage.load(ordering: .relaxed) }

    /// `body` on a connection of the pool, once one is had within the bound; past it a
    /// StoreError (unavailable), `body` not run. Errors of `body` pass through unchanged (a
    /// lost connection also marks the outage).
    /// The work is bound to the connection's life (PostgresConnectionWatch).
    public func withConnection<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        let bound = inOutage ? outageTimeout : timeout
        let race = Race()
        do {
            return try await withThrowingTaskGroup(of: Result?.self) { group in
                group.addTask {
                    try await self.client.withConnection { connection in
                        // A connection granted as the bound passed: the answer is given already.
                        guard race.claim(.leased) else { throw CancellationError() }
                        self.outage.store(false, ordering: .relaxed)
                        return try await PostgresConnectionWatch.shared.run(on: connection, body)
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: bound)
                    return nil
                }
                while let outcome = try await group.next() {
                    if let value = outcome {
                        group.cancelAll()
                        return value
                    }
                    // The bound passed: give up the wait unless the work has begun.
                    if race.claim(.abandoned) {
                        group.cancelAll()
                        self.outage.store(true, ordering: .relaxed)
                        throw StoreError(.unavailable, "PostgreSQL gave no connection within \(bound)")
                    }
                }
                throw StoreError(.internal, "a lease ended without an outcome")
            }
        } catch {
            if Self.isConnectionFailure(error) { outage.store(true, ordering: .relaxed) }
            throw error
        }
    }

    /// Whether `error` says the server is out of reach (no answer, a connection closed, a server
    /// shutting down or starting), not a fault of one statement.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        if let error = error as? StoreError { return error.kind == .unavailable }
        if error is PostgresConnectionLost { return true }
        if let transaction = error as? PostgresTransactionError {
            return isConnectionFailure(transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? CancellationError())
        }
        // The pool's circuit breaker (no connection for 60 s): postgres-nio passes its
        // ConnectionPoolError through, from a module it does not export.
        if String(describing: type(of: error)) == "ConnectionPoolError" { return true }
        guard let psql = error as? PSQLError else { return false }
        if let state = psql.serverInfo?[.sqlState] {
            // 57014 is a statement cancelled (a timeout), not a server going away.
            return state.hasPrefix("08") || (state.hasPrefix("57") && state != "57014")
        }
        return [.clientClosedConnection, .serverClosedConnection, .connectionError, .uncleanShutdown, .poolClosed].contains(psql.code)
    }

    /// Who answers first: the work, leased, or the caller, gone at the bound.
    private final class Race: Sendable {
        enum State { case waiting, leased, abandoned }
        private let state = Mutex(State.waiting)

        /// Moves from waiting to `outcome`; false when the other side was first.
        func claim(_ outcome: State) -> Bool {
            state.withLock { state in
                guard state == .waiting else { return false }
                state = outcome
                return true
            }
        }
    }
}
