// A real server for end-to-end tests: a SQLite file in a fresh directory, or a fresh database
// on the test process's PostgreSQL cluster; the shipped migrations (or a test's own SQL); and
// the app as `feedbase serve` wires it (store, hub, feed maintenance, HTTP server) on port 0 in
// this process.

import FeedbaseApp
import FeedbaseFeed
import FeedbaseHTTP
import FeedbaseModel
import FeedbasePostgres
import FeedbaseSQLite
import FeedbaseTestSupport
import Foundation
import Logging
import NIOCore
import PostgresNIO

final class TestServer: Sendable {
    let directory: String
    let migrations: String
    let app: FeedbaseApp
    let engine: Engine
    /// The server's database on the shared cluster (PostgreSQL only).
    let postgres: PostgresCluster.Database?
    /// The SQLite engine's store, for the SQLite-only tests (backups, checkpoints, keys in the
    /// file); a test on both engines uses `resources`.
    var store: SQLiteStore {
        guard let store = app.sqliteStore else { preconditionFailure("a SQLite-only test ran on \(engine)") }
        return store
    }
    /// The store of either engine, as the API sees it.
    var resources: any ResourceStore { app.store }
    var hub: ChangeHub? { app.hub }
    var port: Int { app.port }

    /// The repository's own migrations/ directory.
    static let shippedMigrations = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("migrations").path

    /// A fresh temporary directory, and the migrations to use: the shipped ones, or `sql` as
    /// the one migration of a directory inside it (SQLite's in it, PostgreSQL's in its
    /// `postgres/`, as `serve` reads them).
    static func scratch(sql: EngineSQL?) throws -> (directory: String, migrations: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-http-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard let sql else { return (directory, shippedMigrations) }
        let migrations = directory + "/migrations"
        try FileManager.default.createDirectory(atPath: migrations + "/postgres", withIntermediateDirectories: true)
        try sql.sqlite.write(toFile: migrations + "/0001_test.sql", atomically: true, encoding: .utf8)
        try sql.postgres.write(toFile: migrations + "/postgres/0001_test.sql", atomically: true, encoding: .utf8)
        return (directory, migrations)
    }

    /// A server on the database (and migrations) that `earlier` left, which must have been
    /// stopped with `removingFiles: false`.
    static func restart(_ earlier: TestServer) async throws -> TestServer {
        try await start(engine: earlier.engine, directory: earlier.directory, migrations: earlier.migrations, database: earlier.postgres)
    }

    /// `sql` is SQLite's schema (a SQLite-only test); `schema` gives one per engine. The feed's
    /// heartbeat is 300 s unless a test asks (`serve`'s is 30 s): a test on a loaded machine may
    /// outlast 30 s, and a ping frame among the messages it reads is not what it is about.
    static func start(
        engine: Engine = .sqlite, sql: String? = nil, schema: EngineSQL? = nil, maxBodySize: Int = 1 << 20, idleTimeout: Int64 = 60, feed: Bool = true, feedBuffer: Int = 1 << 20,
        ringCapacity: Int = 4096, heartbeat: TimeAmount = .seconds(300), busyTimeoutMilliseconds: Int32 = 5_000,
        closeTimeout: TimeAmount = .seconds(10), progressInterval: Duration = .seconds(2), directory existing: String? = nil, migrations existingMigrations: String? = nil,
        database existingDatabase: PostgresCluster.Database? = nil, configure: (inout AppConfiguration) -> Void = { _ in }
    ) async throws -> TestServer {
        try engine.requireAvailable()
        if engine == .postgres && sql != nil && schema == nil {
            throw HTTPTestClientError(message: "a test on PostgreSQL gives its schema per engine (schema:), not SQLite's sql:")
        }
        let (directory, migrations) = try existing.map { ($0, existingMigrations ?? shippedMigrations) } ?? scratch(sql: schema ?? sql.map { EngineSQL($0) })
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
        var database: PostgresCluster.Database?
        if engine == .postgres {
            await ServerSlots.postgres.acquire()
            // As `serve --db postgres://...` wires it: the same configuration, plus the engine's
            // client and the migrations' postgres/ directory.
            let created: PostgresCluster.Database
            var endpoint: PostgresEndpoint
            do {
                if let existingDatabase { created = existingDatabase } else { created = try await PostgresCluster.shared().createDatabase() }
                endpoint = try PostgresURL.endpoint(created.url)
            } catch {
                await ServerSlots.postgres.release()
                throw error
            }
            database = created
            // Several servers run at once on one cluster (max_connections 300).
            endpoint.client.options.maximumConnections = 4
            configuration.postgres = PostgresEngineConfiguration(endpoint: endpoint, migrationsDirectory: migrations + "/postgres")
        }
        configure(&configuration)
        let app: FeedbaseApp
        do {
            app = try await FeedbaseApp.start(configuration, logger: logger)
        } catch {
            if let database {
                if existingDatabase == nil { try? await PostgresCluster.shared().dropDatabase(database) }
                await ServerSlots.postgres.release()
            }
            throw error
        }
        return TestServer(directory: directory, migrations: migrations, app: app, engine: engine, postgres: database)
    }

    private init(directory: String, migrations: String, app: FeedbaseApp, engine: Engine, postgres: PostgresCluster.Database?) {
        self.directory = directory
        self.migrations = migrations
        self.app = app
        self.engine = engine
        self.postgres = postgres
    }

    /// Stops the app; unless `removingFiles` is false (for a restart), removes its directory
    /// and drops its PostgreSQL database.
    func stop(removingFiles: Bool = true) async {
        await app.stop()
        if removingFiles {
            try? FileManager.default.removeItem(atPath: directory)
            if let postgres { try? await PostgresCluster.shared().dropDatabase(postgres) }
        }
        if postgres != nil { await ServerSlots.postgres.release() }
    }

    /// Another program writes: SQLite's `sqlite3` shell on the file, or `psql` on the database,
    /// each in its own dialect.
    func foreignWrite(_ sql: EngineSQL) async throws {
        switch engine {
        case .sqlite: try await sqlite3(sql.sqlite)
        case .postgres:
            guard let postgres else { throw HTTPTestClientError(message: "no PostgreSQL database") }
            _ = try await PostgresCluster.shared().psql(sql.postgres, on: postgres)
        }
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
    _ engine: Engine = .sqlite, sql: String? = nil, schema: EngineSQL? = nil, maxBodySize: Int = 1 << 20, idleTimeout: Int64 = 60, feed: Bool = true, feedBuffer: Int = 1 << 20,
    ringCapacity: Int = 4096, heartbeat: TimeAmount = .seconds(300), busyTimeoutMilliseconds: Int32 = 5_000,
    closeTimeout: TimeAmount = .seconds(10), progressInterval: Duration = .seconds(2),
    configure: (inout AppConfiguration) -> Void = { _ in }, _ body: (TestServer) async throws -> Void
) async throws {
    let server = try await TestServer.start(
        engine: engine, sql: sql, schema: schema, maxBodySize: maxBodySize, idleTimeout: idleTimeout, feed: feed, feedBuffer: feedBuffer,
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
