// A real server for end-to-end tests: a SQLite file in a fresh directory, the shipped
// migrations (or a test's own SQL), and the app as `feedbase serve` wires it (store, hub, feed
// maintenance, HTTP server) on port 0 in this process.

import FeedbaseApp
import FeedbaseFeed
import FeedbaseHTTP
import FeedbaseModel
import FeedbaseSQLite
import FeedbaseTestSupport
import Foundation
import Logging
import NIOCore

final class TestServer: Sendable {
    let directory: String
    let migrations: String
    let app: FeedbaseApp
    // A TestServer always serves the SQLite engine (its configuration has no `postgres`).
    var store: SQLiteStore { app.sqliteStore! }
    var hub: ChangeHub? { app.hub }
    var port: Int { app.port }

    /// The repository's own migrations/ directory.
    static let shippedMigrations = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("migrations").path

    /// A fresh temporary directory, and the migrations to use: the shipped ones, or `sql` as
    /// the one migration of a directory inside it.
    static func scratch(sql: String?) throws -> (directory: String, migrations: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-http-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard let sql else { return (directory, shippedMigrations) }
        let migrations = directory + "/migrations"
        try FileManager.default.createDirectory(atPath: migrations, withIntermediateDirectories: true)
        try sql.write(toFile: migrations + "/0001_test.sql", atomically: true, encoding: .utf8)
        return (directory, migrations)
    }

    /// A server on the database (and migrations) that `earlier` left, which must have been
    /// stopped with `removingFiles: false`.
    static func restart(_ earlier: TestServer) async throws -> TestServer {
        try await start(directory: earlier.directory, migrations: earlier.migrations)
    }

    static func start(
        sql: String? = nil, maxBodySize: Int = 1 << 20, idleTimeout: Int64 = 60, feed: Bool = true, feedBuffer: Int = 1 << 20,
        ringCapacity: Int = 4096, heartbeat: TimeAmount = .seconds(30), busyTimeoutMilliseconds: Int32 = 5_000,
        closeTimeout: TimeAmount = .seconds(10), progressInterval: Duration = .seconds(2), directory existing: String? = nil, migrations existingMigrations: String? = nil,
        configure: (inout AppConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        let (directory, migrations) = try existing.map { ($0, existingMigrations ?? shippedMigrations) } ?? scratch(sql: sql)
        var logger = Logger(label: "feedbase-test")
        logger.logLevel = .warning
        var store = StoreConfiguration(
            path: directory + "/test.sqlite", migrationsDirectory: migrations,
            connection: ConnectionOptions(busyTimeoutMilliseconds: busyTimeoutMilliseconds), readers: 2)
        store.feed = feed
        var server = ServerConfiguration(
            host: "127.0.0.1", port: 0, maxBodySize: maxBodySize, idleTimeout: .seconds(idleTimeout), eventLoopThreads: 2)
        server.streamBufferLimit = feedBuffer
        var configuration = AppConfiguration(store: store, server: server)
        configuration.feed.hub.ringCapacity = ringCapacity
        configuration.feed.heartbeat = heartbeat
        configuration.feed.closeTimeout = closeTimeout
        configuration.feed.hub.progressInterval = progressInterval
        configure(&configuration)
        return TestServer(directory: directory, migrations: migrations, app: try await FeedbaseApp.start(configuration, logger: logger))
    }

    private init(directory: String, migrations: String, app: FeedbaseApp) {
        self.directory = directory
        self.migrations = migrations
        self.app = app
    }

    func stop(removingFiles: Bool = true) async {
        await app.stop()
        if removingFiles { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Runs the stock `sqlite3` shell on the server's database, as another program would.
    func sqlite3(_ sql: String) async throws {
        // As a user would, with a busy timeout: the shell has none by default.
        let shell = try await ChildProcess.run("/usr/bin/env", ["sqlite3", "-cmd", ".timeout 5000", database, sql], environment: ProcessInfo.processInfo.environment)
        guard shell.status == 0 else { throw HTTPTestClientError(message: "sqlite3 failed (\(shell.status)): \(shell.stderr)") }
    }

    var database: String { directory + "/test.sqlite" }

    /// One request on a fresh connection.
    func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], json: String? = nil
    ) async throws -> HTTPResponse {
        var headers = headers
        if json != nil, !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "application/json"))
        }
        return try await HTTP.request(port: port, method, target, headers: headers, body: json)
    }
}

/// Runs `body` against a fresh server and always stops it.
func withServer(
    sql: String? = nil, maxBodySize: Int = 1 << 20, idleTimeout: Int64 = 60, feed: Bool = true, feedBuffer: Int = 1 << 20,
    ringCapacity: Int = 4096, heartbeat: TimeAmount = .seconds(30), busyTimeoutMilliseconds: Int32 = 5_000,
    closeTimeout: TimeAmount = .seconds(10), progressInterval: Duration = .seconds(2),
    configure: (inout AppConfiguration) -> Void = { _ in }, _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(
        sql: sql, maxBodySize: maxBodySize, idleTimeout: idleTimeout, feed: feed, feedBuffer: feedBuffer,
        ringCapacity: ringCapacity, heartbeat: heartbeat, busyTimeoutMilliseconds: busyTimeoutMilliseconds, closeTimeout: closeTimeout,
        progressInterval: progressInterval, configure: configure)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}
