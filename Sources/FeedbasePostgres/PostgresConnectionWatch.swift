// postgres-nio (1.33.2) can leave a query waiting for ever when its connection is terminated as
// the query is sent (pg_terminate_backend, a server restart): the channel closes and the query's
// future is never failed, so the lease is never returned, a request never answers, and a hub
// whose log read hangs stops for good (TerminationTests: a few of 2,400 queries over five
// terminations). A connection that closed cannot answer a query it has not answered yet, so
// every use of one is also bound to the connection's life: a moment after it closed, whatever
// still waits on it fails as a lost connection (503 to a client, a retry to the hub). The task
// stuck inside the driver is left behind, cancelled; it holds nothing the pool reuses.
//
// One close callback per connection (not per use: a pooled connection lives for many), keyed
// by the connection's identity and dropped when it fires.

import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// A connection closed while a use of it still waited (postgres-nio did not fail the use).
public struct PostgresConnectionLost: Error, CustomStringConvertible {
    public var description: String { "the connection to PostgreSQL was lost" }
}

final class PostgresConnectionWatch: Sendable {
    static let shared = PostgresConnectionWatch()

    /// How long a use may still finish after its connection closed (its answer may have been
    /// read just before the close).
    let grace: Duration

    private struct Waiting {
        /// Held until the close callback ran, so that no other connection can take its identity
        /// (its address) meanwhile.
        let connection: PostgresConnection
        var uses: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex<(next: Int, connections: [ObjectIdentifier: Waiting])>((0, [:]))

    init(grace: Duration = .seconds(1)) {
        self.grace = grace
    }

    /// `body` on `connection`, failing with PostgresConnectionLost if the connection closes and
    /// `body` has not finished `grace` later.
    func run<Result: Sendable>(
        on connection: PostgresConnection, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let outcome = Outcome<Result>()
        let work = Task {
            do { outcome.finish(.success(try await body(connection))) } catch { outcome.finish(.failure(error)) }
        }
        let key = ObjectIdentifier(connection)
        let (id, watched) = state.withLock { state -> (Int, Bool) in
            let id = state.next
            state.next += 1
            let watched = state.connections[key] != nil
            state.connections[key, default: Waiting(connection: connection)].uses[id] = {
                outcome.finish(.failure(PostgresConnectionLost()))
                work.cancel()
            }
            return (id, watched)
        }
        if !watched {
            let grace = self.grace
            connection.closeFuture.whenComplete { _ in
                Task {
                    try? await Task.sleep(for: grace)
                    let uses = self.state.withLock { $0.connections.removeValue(forKey: key)?.uses.values.map { $0 } ?? [] }
                    for fail in uses { fail() }
                }
            }
        }
        defer { state.withLock { _ = $0.connections[key]?.uses.removeValue(forKey: id) } }
        return try await withTaskCancellationHandler {
            try await outcome.value
        } onCancel: {
            work.cancel()
        }
    }
}

/// The first of the body's result and the connection's loss; later ones are ignored.
private final class Outcome<Value: Sendable>: Sendable {
    private let state = Mutex<(result: Result<Value, any Error>?, waiter: CheckedContinuation<Value, any Error>?)>((nil, nil))

    func finish(_ result: Result<Value, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    var value: Value {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let ready = state.withLock { state -> Result<Value, any Error>? in
                    if let result = state.result { return result }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }
}

extension PostgresClient {
    /// `withConnection`, bound to the leased connection's life (PostgresConnectionWatch).
    package func withLiveConnection<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await withConnection { connection in
            try await PostgresConnectionWatch.shared.run(on: connection, body)
        }
    }
}
