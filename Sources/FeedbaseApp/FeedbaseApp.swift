// The whole server as one value: store → change hub → feed maintenance → API → HTTP server,
// assembled from one configuration. `feedbase serve` and the end-to-end tests both start this,
// so every test runs the production wiring, the poll for other processes' writes and pruning
// included.

import CoreMetrics
import FeedbaseAuth
import FeedbaseFeed
import FeedbaseHTTP
import FeedbaseMetrics
import FeedbaseModel
import FeedbasePostgres
import FeedbaseSQLite
import Logging
import NIOCore
import PostgresNIO

public struct FeedConfiguration: Sendable {
    /// Seconds between feed pings on idle WebSocket and SSE subscriptions.
    public var heartbeat = FeedService.defaults.heartbeat
    /// How long a closing WebSocket subscriber may take to read what was queued before the close.
    public var closeTimeout = FeedService.defaults.closeTimeout
    public var hub = FeedSettings()
    /// Band subscriptions one WebSocket may hold at once.
    public var bandsPerConnection = FeedService.defaults.bandsPerConnection
    /// Filter conditions one band may have.
    public var bandFilters = FeedService.defaults.bandFilters
    /// How often the log is checked for writes made by other processes.
    public var pollInterval: Duration = .milliseconds(250)
    /// How often the log is pruned.
    public var pruneInterval: Duration = .seconds(60)
    /// Events older than this are pruned.
    public var retention: Duration = .seconds(7 * 86_400)
    /// At most this many events are kept (nil: no limit).
    public var maxEvents: Int?

    public init() {}
}

public struct AppConfiguration: Sendable {
    /// `store.feed` false serves REST alone: no log, no hub, no feed routes.
    public var store: StoreConfiguration
    public var server: ServerConfiguration
    public var feed = FeedConfiguration()
    /// The access rules; nil for none (an open server, which listens on loopback only unless
    /// `publicAccess`).
    public var rules: AccessRules?
    /// `--public`: with no rules, the data is meant to be open to any address.
    public var publicAccess = false
    /// What a JWT must be (the `--jwt-*` flags); API keys are always accepted.
    public var auth = AuthConfiguration()
    /// How often the API keys are reloaded (a revocation by `feedbase keys` takes effect then).
    public var keyRefreshInterval: Duration = .milliseconds(250)
    /// `--cors-origin`: pages of these origins may call the API from a browser.
    public var crossOrigin = CrossOriginPolicy.none
    /// `--rate-limit` and `--rate-burst`: requests per second per identity, and at once; nil: no limit.
    public var rateLimit: (rate: Double, burst: Double)?
    /// `--no-metrics` false: record nothing and serve no `/metrics` (docs/OPERATIONS.md).
    public var metrics = true
    /// `--no-ui` false: serve the explorer at /_ui (docs/UI.md).
    public var explorer = true

    /// `--tls-cert` and `--tls-key`: serve HTTPS (and WSS) with this certificate chain and key.
    public var tls: TLSFiles?

    /// `--db postgres://...`: the PostgreSQL engine instead of the SQLite file of `store` (whose
    /// feed and migrations settings still apply: migrations from `postgres/` beside SQLite's).
    public var postgres: PostgresEngineConfiguration?

    public init(store: StoreConfiguration, server: ServerConfiguration) {
        self.store = store
        self.server = server
    }
}

public struct PostgresEngineConfiguration: Sendable {
    /// The pool's configuration and the engine's own connections' (the same TLS).
    public var endpoint: PostgresEndpoint
    /// PostgreSQL's migrations (`migrations/postgres/`).
    public var migrationsDirectory: String?

    public init(endpoint: PostgresEndpoint, migrationsDirectory: String?) {
        self.endpoint = endpoint
        self.migrationsDirectory = migrationsDirectory
    }
}

public final class FeedbaseApp: Sendable {
    /// The engine the configuration chose: SQLite by default, PostgreSQL with `postgres`.
    public let store: any ResourceStore
    public let hub: ChangeHub?
    public let server: HTTPServer
    /// What the server answers with; tests of the fast tier call `api.respond(to:)` with no
    /// socket (docs/TESTING.md).
    public let api: API
    /// Verifies API keys and JWTs; reloads the keys every `keyRefreshInterval`.
    public let authenticator: Authenticator
    private let credentialWatch: CredentialWatch
    private let maintenance: Task<Void, Never>?
    private let keyRefresh: Task<Void, Never>?
    private let logger: Logger
    /// This app's registry: each app has its own (ServerMetrics.swift says why).
    public let metrics: ServerMetrics

    /// The port the server listens on (the one it picked when configured with 0).
    public var port: Int { server.port }

    /// Binds the listening sockets, opens and migrates the database, starts the hub and its
    /// maintenance, and serves. Blocks on the database at first (migrations), so call it at startup.
    public static func start(_ configuration: AppConfiguration, logger: Logger) async throws -> FeedbaseApp {
        let policy = AccessPolicy(rules: configuration.rules)
        if policy.isOpen && !configuration.publicAccess && !Self.isLoopback(configuration.server.host) {
            throw AppError(
                "refusing to serve \(configuration.server.host) with no access rules: anyone who reaches it could read and change everything. "
                    + "Write a rules file (docs/API.md, \"Security\"), or pass --public if the data is meant to be open")
        }
        var serverConfiguration = configuration.server
        if let tls = configuration.tls { serverConfiguration.transport = try tls.transport() }
        // Listen first (accepting nothing yet): a port in use stops the start before the
        // database is opened, created or migrated.
        let server = try await HTTPServer.bind(serverConfiguration, logger: logger)
        let metrics = configuration.metrics ? ServerMetrics() : .disabled
        let store: any ResourceStore
        let loadKeys: @Sendable () async throws -> [StoredAPIKey]
        do {
            (store, loadKeys) = try await Self.open(configuration, metrics: metrics, logger: logger)
        } catch {
            await server.stop()
            throw error
        }
        let credentialWatch = CredentialWatch()
        // Any reload that changes the keys (the timer's, or one for a key not yet known) may
        // have revoked the key of an open subscription, which then ends.
        let authenticator = Authenticator(
            configuration: configuration.auth, loadKeys: loadKeys, logger: logger,
            keysChanged: { credentialWatch.recheck(at: UnixTime.now()) })
        var hub: ChangeHub?
        var maintenance: Task<Void, Never>?
        var keyRefresh: Task<Void, Never>?
        do {
            try await policy.validate(store.schema, store: store)
            await authenticator.refreshKeys()
            keyRefresh = Task {
                // Ends when cancelled, without a last reload on a database being closed.
                while (try? await Task.sleep(for: configuration.keyRefreshInterval)) != nil, !Task.isCancelled {
                    await authenticator.refreshKeys()
                }
            }
            if policy.isOpen {
                logger.notice(configuration.publicAccess
                    ? "no access rules and --public: anyone who reaches the server may read and change everything"
                    : "no access rules: anonymous requests may do everything (allowed on a loopback address only)")
            }
            if store.feedEnabled {
                let changeHub = ChangeHub(source: store, settings: configuration.feed.hub, metrics: FeedMetrics(factory: metrics.factory), logger: logger)
                try await changeHub.start()
                hub = changeHub
                maintenance = FeedMaintenance.start(hub: changeHub, store: store, configuration: configuration.feed, logger: logger)
                if let postgres = store as? PostgresStore, let pruning = maintenance {
                    // Other nodes' commits wake this one by NOTIFY, with a slow poll as the net
                    // (PostgresChangeWatcher); the maintenance loop then only prunes.
                    let watcher = PostgresChangeWatcher(reader: PostgresFeedReader(log: postgres.log), pollInterval: configuration.feed.pollInterval * 4)
                    let watching = Task { await watcher.run(client: postgres.client, listening: postgres.listeningConfiguration, from: 0, logger: logger) { _ in await changeHub.advance() } }
                    maintenance = Task {
                        await withTaskCancellationHandler {
                            await pruning.value
                            await watching.value
                        } onCancel: {
                            pruning.cancel()
                            watching.cancel()
                        }
                    }
                }
            }
            if !store.feedEnabled, store is PostgresStore {
                // A PostgreSQL node without the feed still prunes the log its writes add to: the
                // nodes that serve the feed may be none.
                maintenance = FeedMaintenance.start(hub: nil, store: store, configuration: configuration.feed, logger: logger)
            }
            let feed = hub.map {
                FeedService(
                    hub: $0, heartbeat: configuration.feed.heartbeat, closeTimeout: configuration.feed.closeTimeout,
                    bandsPerConnection: configuration.feed.bandsPerConnection, bandFilters: configuration.feed.bandFilters)
            }
            let api = try API(
                store: store, feed: feed, policy: policy, verifier: authenticator, crossOrigin: configuration.crossOrigin,
                rateLimiter: configuration.rateLimit.map { RateLimiter(rate: $0.rate, burst: $0.burst) }, credentialWatch: credentialWatch,
                limits: configuration.server.limits, metrics: Self.exposition(metrics), explorer: configuration.explorer, logger: logger)
            if let sqlite = store as? SQLiteStore {
                // A state, not events: read when scraped, so a write does nothing for it.
                let depth = Meter(label: WriterMetrics.queueDepth, dimensions: [], factory: metrics.factory)
                metrics.addCollector { depth.set(sqlite.queuedWrites) }
            }
            try await server.serve(api)
            return FeedbaseApp(
                store: store, hub: hub, server: server, api: api, authenticator: authenticator, credentialWatch: credentialWatch,
                maintenance: maintenance, keyRefresh: keyRefresh, metrics: metrics, logger: logger)
        } catch {
            keyRefresh?.cancel()
            maintenance?.cancel()
            await hub?.shutdown()
            await server.stop()
            await store.close()
            throw error
        }
    }

    /// What the HTTP layer records into and serves at `/metrics`: this app's registry.
    private static func exposition(_ metrics: ServerMetrics) -> MetricsExposition {
        guard metrics.isEnabled else { return .disabled }
        return MetricsExposition(factory: metrics.factory, contentType: ServerMetrics.contentType) { await metrics.exposition() }
    }

    /// The store of the chosen engine, and how its API keys are read.
    private static func open(_ configuration: AppConfiguration, metrics: ServerMetrics, logger: Logger) async throws
        -> (any ResourceStore, @Sendable () async throws -> [StoredAPIKey])
    {
        guard let postgres = configuration.postgres else {
            var storeConfiguration = configuration.store
            storeConfiguration.metrics = WriterMetrics(factory: metrics.factory)
            let store = try SQLiteStore(storeConfiguration, logger: logger)
            return (store, { try await store.activeAPIKeys() })
        }
        let store = try await PostgresStore.open(
            postgres.endpoint, migrationsDirectory: postgres.migrationsDirectory, feed: configuration.store.feed,
            busyTimeout: .milliseconds(Int64(configuration.store.connection.busyTimeoutMilliseconds)), logger: logger)
        let keys = PostgresAPIKeys(client: store.client, schema: store.log.schema, logger: logger)
        do {
            try await keys.install()
        } catch {
            await store.close()
            throw error
        }
        return (store, { try await keys.active() })
    }

    /// The SQLite engine's store, when it is the one serving (tools and tests that reach past
    /// the engine-neutral contract: keys, backups, checkpoints).
    public var sqliteStore: SQLiteStore? { store as? SQLiteStore }

    /// Reloads the API keys now (as the app does every `keyRefreshInterval`); a changed set may
    /// have revoked the key of an open subscription, which then ends.
    public func reloadKeys() async {
        await authenticator.refreshKeys()
    }

    /// 127.0.0.0/8, ::1 and localhost: reachable from this machine only.
    static func isLoopback(_ host: String) -> Bool {
        let host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    private init(
        store: any ResourceStore, hub: ChangeHub?, server: HTTPServer, api: API, authenticator: Authenticator, credentialWatch: CredentialWatch,
        maintenance: Task<Void, Never>?, keyRefresh: Task<Void, Never>?, metrics: ServerMetrics, logger: Logger
    ) {
        self.metrics = metrics
        self.credentialWatch = credentialWatch
        self.store = store
        self.hub = hub
        self.server = server
        self.api = api
        self.authenticator = authenticator
        self.maintenance = maintenance
        self.keyRefresh = keyRefresh
        self.logger = logger
    }

    /// Stops gracefully: feed subscribers first (their streams never end by themselves, so they
    /// are closed with 1001 or the end of the SSE stream rather than left to the grace period),
    /// then in-flight requests within the grace period, then the database.
    public func stop() async {
        api.draining.begin()
        keyRefresh?.cancel()
        maintenance?.cancel()
        await hub?.shutdown()
        await server.stop()
        await store.close()
    }
}

/// The feed's background work: noticing writes made by other processes (each `pollInterval`)
/// and pruning the log by age and count (each `pruneInterval`, in small batches).
enum FeedMaintenance {
    static func start(hub: ChangeHub?, store: any ResourceStore, configuration: FeedConfiguration, logger: Logger) -> Task<Void, Never> {
        Task {
            let clock = ContinuousClock()
            var nextPrune = clock.now
            while !Task.isCancelled {
                if clock.now >= nextPrune {
                    nextPrune = clock.now + configuration.pruneInterval
                    do {
                        let pruned = try await store.pruneChanges(olderThan: configuration.retention, keep: configuration.maxEvents)
                        if pruned > 0 { logger.info("pruned change events", metadata: ["count": "\(pruned)"]) }
                    } catch {
                        logger.warning("pruning the change log failed", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: hub == nil ? configuration.pruneInterval : configuration.pollInterval)
                // PostgreSQL's nodes are woken by PostgresChangeWatcher instead, which reads the
                // log only when its head moved: the progress held back after a burst goes out here.
                if store is PostgresStore { await hub?.reportProgress() } else { await hub?.advance() }
            }
        }
    }
}

/// A configuration the app refuses to start with.
public struct AppError: Error, CustomStringConvertible {
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The HTTP layer asks for identities through `CredentialVerifier`; the Authenticator is one.
extension Authenticator: CredentialVerifier {}
