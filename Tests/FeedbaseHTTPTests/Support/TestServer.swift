// A real server for end-to-end tests: a SQLite file in a fresh directory, the shipped
// migrations (or a test's own SQL), the store and the HTTP server on port 0 in this process.

import FeedbaseFeed
import FeedbaseHTTP
import FeedbaseStore
import Foundation
import Logging
import NIOCore

final class TestServer: Sendable {
    let directory: String
    let store: SQLiteStore
    let server: HTTPServer
    let hub: ChangeHub?
    var port: Int { server.port }

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

    static func start(
        sql: String? = nil, maxBodySize: Int = 1 << 20, idleTimeout: Int64 = 60, feed: Bool = true, feedBuffer: Int = 1 << 20,
        ringCapacity: Int = 4096, heartbeat: TimeAmount = .seconds(30), busyTimeoutMilliseconds: Int32 = 5_000
    ) async throws -> TestServer {
        let (directory, migrations) = try scratch(sql: sql)
        var logger = Logger(label: "feedbase-test")
        logger.logLevel = .warning
        var storeConfiguration = StoreConfiguration(
            path: directory + "/test.sqlite", migrationsDirectory: migrations,
            connection: ConnectionOptions(busyTimeoutMilliseconds: busyTimeoutMilliseconds), readers: 2)
        storeConfiguration.feed = feed
        let store = try SQLiteStore(storeConfiguration, logger: logger)
        var hub: ChangeHub?
        if feed {
            var settings = FeedSettings()
            settings.ringCapacity = ringCapacity
            hub = ChangeHub(store: store, settings: settings)
            try await hub?.start()
        }
        var configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, maxBodySize: maxBodySize, idleTimeout: .seconds(idleTimeout), eventLoopThreads: 2)
        configuration.streamBufferLimit = feedBuffer
        let server = try await HTTPServer.start(
            configuration, api: API(store: store, feed: hub.map { FeedService(hub: $0, heartbeat: heartbeat) }, logger: logger),
            logger: logger)
        return TestServer(directory: directory, store: store, server: server, hub: hub)
    }

    private init(directory: String, store: SQLiteStore, server: HTTPServer, hub: ChangeHub?) {
        self.directory = directory
        self.store = store
        self.server = server
        self.hub = hub
    }

    func stop() async {
        await hub?.shutdown()
        await server.stop()
        await store.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

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
    _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(
        sql: sql, maxBodySize: maxBodySize, idleTimeout: idleTimeout, feed: feed, feedBuffer: feedBuffer,
        ringCapacity: ringCapacity, heartbeat: heartbeat, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}
