// The PostgreSQL tests' common ground: a trait that skips them, with the reason, where the
// server's binaries are missing, and a running PostgresClient on a fresh database of the
// test process's throwaway cluster.

import FeedbaseTestSupport
import Logging
import PostgresNIO
import Testing

extension Trait where Self == ConditionTrait {
    /// Runs the suite only where PostgresCluster can start a server; elsewhere the suite is
    /// reported as skipped with the reason.
    static var needsPostgres: Self {
        .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason ?? "PostgreSQL is available"))
    }
}

/// A fresh database on the shared cluster.
func freshDatabase() async throws -> PostgresCluster.Database {
    try await PostgresCluster.shared().createDatabase()
}

func clientConfiguration(_ database: PostgresCluster.Database, connections: Int = 8) -> PostgresClient.Configuration {
    var configuration = PostgresClient.Configuration(
        host: database.host, port: database.port, username: database.username, password: nil, database: database.name, tls: .disable)
    configuration.options.maximumConnections = connections
    return configuration
}

/// A connection of its own to `database` (LISTEN runs on one).
func connectionConfiguration(_ database: PostgresCluster.Database) -> PostgresConnection.Configuration {
    PostgresConnection.Configuration(
        host: database.host, port: database.port, username: database.username, password: nil, database: database.name, tls: .disable)
}

/// Runs `body` with a client whose pool runs for exactly as long as `body`.
func withClient<Result: Sendable>(
    _ database: PostgresCluster.Database, connections: Int = 8, _ body: @Sendable (PostgresClient) async throws -> Result
) async throws -> Result {
    let client = PostgresClient(configuration: clientConfiguration(database, connections: connections))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

/// A test's own failure, said in words (a condition that never came).
struct PostgresTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
