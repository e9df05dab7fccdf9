// `--db-connections`: a PostgreSQL node's pool stays within it under concurrent requests (so N
// nodes can be sized under the server's max_connections), and a bad value or a SQLite file is one
// clear error line.

import FeedbaseTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason ?? "PostgreSQL is available")))
struct PoolSizeTests {
    @Test func aNodesConnectionsStayWithinItsPoolUnderConcurrentRequests() async throws {
        let cluster = try await PostgresCluster.shared()
        let database = try await cluster.createDatabase()
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let node = try ServeProcess(["--port", "0", "--db", database.url, "--db-connections", "2"], in: workspace.path)
        let port = try await ServePostgresTests.port(of: node)
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/tasks?limit=5"))
        var peak = 0
        for _ in 0..<5 {
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<24 {
                    group.addTask { ((try await URLSession.shared.data(from: url)).1 as? HTTPURLResponse)?.statusCode ?? 0 }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            let count = try await cluster.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", on: database)
            peak = max(peak, Int(count.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .max)
        }
        // The pool's 2, LISTEN's own, and the API keys' reloads (a pool of one).
        #expect(peak <= 4, "the node held \(peak) connections")
        #expect(try await node.stop() == 0)
    }

    @Test func aBadPoolSizeOrASQLiteFileIsOneClearError() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let url = "postgres://nobody@127.0.0.1:1/none"
        for value in ["0", "1001", "many", "-3"] {
            expectOneErrorLine(
                try await run(["serve", "--port", "0", "--db", url, "--db-connections=\(value)"], in: workspace.path),
                containing: "--db-connections must be a number from 1 to 1000, not '\(value)'")
        }
        expectOneErrorLine(
            try await run(["serve", "--port", "0", "--db-connections", "4"], in: workspace.path),
            containing: "--db-connections applies to a postgres:// database only")
        expectOneErrorLine(
            try await run(["serve", "--port", "0", "--db", url], in: workspace.path, environment: ["FEEDBASE_DB_CONNECTIONS": "x"]),
            containing: "FEEDBASE_DB_CONNECTIONS must be a number")
        #expect(!FileManager.default.fileExists(atPath: workspace.file("feedbase.sqlite")))
    }
}
