// `feedbase serve`: migrate, introspect, serve HTTP until SIGINT/SIGTERM, then stop gracefully
// (stop accepting, finish in-flight requests within a bound, close the database) and exit 0.

import ArgumentParser
import FeedbaseApp
import FeedbaseHTTP
import FeedbaseModel
import FeedbasePostgres
import FeedbaseSQLite
import Foundation
import Logging
import NIOCore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations, then serve every collection over HTTP.")

    @Option(name: .long, help: "The address to listen on (env FEEDBASE_HOST).")
    var host: String = environment("HOST") ?? Defaults.server.host

    @Option(name: .long, help: "The TCP port; 0 picks a free one and logs it (env FEEDBASE_PORT).")
    var port: String = environment("PORT") ?? String(Defaults.server.port)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var migrationOptions: MigrationOptions
    @OptionGroup var rulesOptions: RulesOptions
    @OptionGroup var jwt: JWTOptions
    @OptionGroup var limitOptions: LimitOptions

    @Flag(name: .customLong("public"), help: "With no access rules, serve a non-loopback address anyway: the data is meant to be open (env FEEDBASE_PUBLIC=1).")
    var publicAccess = environment("PUBLIC").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false

    @Option(name: .customLong("max-body"), help: "The largest request body in bytes (env FEEDBASE_MAX_BODY).")
    var maxBody: String = environment("MAX_BODY") ?? String(Defaults.server.maxBodySize)

    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may stay silent (env FEEDBASE_IDLE_TIMEOUT).")
    var idleTimeout: String = environment("IDLE_TIMEOUT") ?? Defaults.seconds(Defaults.server.idleTimeout)

    @Flag(name: .customLong("no-feed"), help: "Serve no feed; on SQLite, also record no change events (env FEEDBASE_NO_FEED=1).")
    var noFeed = environment("NO_FEED").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false

    @Option(name: .customLong("wal-checkpoint"), help: "background: WAL checkpoints on a thread of their own, so no write waits for one; commit: in the writes' commits, as SQLite does by default (env FEEDBASE_WAL_CHECKPOINT).")
    var walCheckpoint: String = environment("WAL_CHECKPOINT") ?? "background"

    @Option(name: .customLong("feed-heartbeat"), help: "Seconds between feed pings (env FEEDBASE_FEED_HEARTBEAT).")
    var feedHeartbeat: String = environment("FEED_HEARTBEAT") ?? Defaults.seconds(Defaults.feed.heartbeat)

    @Option(name: .customLong("feed-buffer"), help: "Unsent bytes a feed subscriber may lag before it is cut off (env FEEDBASE_FEED_BUFFER).")
    var feedBuffer: String = environment("FEED_BUFFER") ?? String(Defaults.server.streamBufferLimit)

    @Option(name: .customLong("feed-retention"), help: "Days of change events to keep (env FEEDBASE_FEED_RETENTION).")
    var feedRetention: String = environment("FEED_RETENTION") ?? Defaults.days(Defaults.feed.retention)

    @Option(name: .customLong("feed-max-events"), help: "Most change events to keep; 0 for no limit (env FEEDBASE_FEED_MAX_EVENTS).")
    var feedMaxEvents: String = environment("FEED_MAX_EVENTS") ?? String(Defaults.feed.maxEvents ?? 0)

    @Option(name: .customLong("feed-max-bands"), help: "Distinct live queries (bands) followed at once (env FEEDBASE_FEED_MAX_BANDS).")
    var feedMaxBands: String = environment("FEED_MAX_BANDS") ?? String(Defaults.feed.hub.maxBands)

    @Option(name: .customLong("feed-bands-per-connection"), help: "Bands one WebSocket may follow at once (env FEEDBASE_FEED_BANDS_PER_CONNECTION).")
    var feedBandsPerConnection: String = environment("FEED_BANDS_PER_CONNECTION") ?? String(Defaults.feed.bandsPerConnection)

    @Option(name: .customLong("feed-band-filters"), help: "Filter conditions one band may have, 1 to 200 (env FEEDBASE_FEED_BAND_FILTERS).")
    var feedBandFilters: String = environment("FEED_BAND_FILTERS") ?? String(Defaults.feed.bandFilters)

    @Option(name: .customLong("feed-progress-interval"), help: "Seconds between a band's progress messages while the log moves past it (env FEEDBASE_FEED_PROGRESS_INTERVAL).")
    var feedProgressInterval: String = environment("FEED_PROGRESS_INTERVAL") ?? Defaults.seconds(Defaults.feed.hub.progressInterval)

    @Option(name: .customLong("cors-origin"), help: "An origin whose pages may call the API from a browser (https://app.example), or * for any; repeatable (env FEEDBASE_CORS_ORIGIN, comma-separated).")
    var corsOrigins: [String] = environment("CORS_ORIGIN").map { $0.split(separator: ",").map(String.init) } ?? []

    @Option(name: .customLong("rate-limit"), help: "Requests per second per identity (API key, JWT subject, or the address of anonymous clients); 0 for no limit (env FEEDBASE_RATE_LIMIT).")
    var rateLimit: String = environment("RATE_LIMIT") ?? "0"

    @Option(name: .customLong("rate-burst"), help: "Requests one identity may make at once after a quiet spell; default twice the rate (env FEEDBASE_RATE_BURST).")
    var rateBurst: String = environment("RATE_BURST") ?? ""

    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS: a PEM file with the certificate, then any intermediates; with --tls-key (env FEEDBASE_TLS_CERT).")
    var tlsCertificate: String = environment("TLS_CERT") ?? ""

    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert's certificate (env FEEDBASE_TLS_KEY).")
    var tlsKey: String = environment("TLS_KEY") ?? ""

    @Option(name: .customLong("log-format"), help: "text (swift-log's lines) or json (one object per line, metadata as fields) (env FEEDBASE_LOG_FORMAT).")
    var logFormat: String = environment("LOG_FORMAT") ?? "text"
    @Flag(name: .customLong("no-metrics"), help: "Record no metrics and serve no /metrics (env FEEDBASE_NO_METRICS=1).")
    var noMetrics = environment("NO_METRICS").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false

    @Flag(name: .customLong("no-ui"), help: "Serve no explorer at /_ui (env FEEDBASE_NO_UI=1).")
    var noUI = environment("NO_UI").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false

    @Option(name: .customLong("log-level"), help: "trace, debug, info (one line per request), notice, warning, error (env FEEDBASE_LOG_LEVEL).")
    var logLevel: String = environment("LOG_LEVEL") ?? "info"

    func run() async throws {
        var logger = Logger(label: "feedbase")
        let app: FeedbaseApp
        let rules: AccessRules?
        do {
            guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
                throw CLIError("\(source("log-level")) must be one of trace, debug, info, notice, warning, error, critical, not '\(logLevel)'")
            }
            logger.logLevel = level
            switch logFormat.lowercased() {
            case "text": FeedbaseLogHandler.json.store(false, ordering: .relaxed)
            case "json": FeedbaseLogHandler.json.store(true, ordering: .relaxed)
            default: throw CLIError("\(source("log-format")) must be text or json, not '\(logFormat)'")
            }
            let configuration = try appConfiguration()
            rules = configuration.rules
            // A missing migrations directory is one error line before any file is created.
            _ = try Migrator.files(in: configuration.postgres?.migrationsDirectory ?? migrationOptions.migrations)
            if configuration.server.limits.connections < Int(limitOptions.connections) ?? 0 {
                logger.warning("--max-connections lowered to what the descriptor limit allows",
                    metadata: ["max-connections": "\(configuration.server.limits.connections)"])
            }
            do {
                app = try await FeedbaseApp.start(configuration, logger: logger)
            } catch let error as StoreError {
                throw error
            } catch let error as AppError {
                throw CLIError(error.description)
            } catch let error as RulesError {
                throw CLIError("access rules: \(error)")
            } catch let error as ListenError {
                throw CLIError(error.description)
            } catch {
                throw CLIError("cannot listen on \(host):\(port): \(error)")
            }
        } catch {
            throw reported(error)
        }
        if let rules {
            logger.notice("access rules loaded", metadata: ["file": "\(rules.file)", "rules": "\(rules.rules.count)"])
        }
        let collections = app.store.schema.collections.map(\.name).joined(separator: ", ")
        if collections.isEmpty {
            logger.warning(
                "nothing to serve: \(PostgresURL.isPostgres(database.db) ? "the database" : database.db) has no table with a primary key; add migrations (NNNN_description.sql files creating tables) to \(migrationOptions.migrations), docs/SCHEMA.md")
        }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let scheme = tlsCertificate.isEmpty ? "http" : "https"
        let address = "\(scheme)://\(bare.contains(":") ? "[\(bare)]" : bare):\(app.port)"
        // Said once SIGTERM and SIGINT are trapped: a client (or a test) that stops the server
        // as soon as it reads this line gets the graceful stop, never the signal's default.
        try await Lifecycle.serve(app, logger: logger) { [logger] in
            logger.notice("listening on \(address)", metadata: ["collections": "\(collections)", "version": "\(FeedbaseVersion.current)"])
        }
    }

    /// The flags, checked, as the app's one configuration value.
    func appConfiguration() throws -> AppConfiguration {
        guard let port = Int(port), (0...65535).contains(port) else { throw CLIError("\(source("port")) must be 0 to 65535, not '\(port)'") }
        guard let maxBody = Int(maxBody), maxBody > 0 else { throw CLIError("\(source("max-body")) must be a positive number of bytes, not '\(maxBody)'") }
        // Upper bounds keep every timer a value a clock can hold (nanoseconds in an Int64).
        guard let idle = Int(idleTimeout), (1...31_536_000).contains(idle) else {
            throw CLIError("\(source("idle-timeout")) must be 1 to 31536000 seconds (a year), not '\(idleTimeout)'")
        }
        guard let heartbeat = Int(feedHeartbeat), (1...86_400).contains(heartbeat) else {
            throw CLIError("\(source("feed-heartbeat")) must be 1 to 86400 seconds (a day), not '\(feedHeartbeat)'")
        }
        guard let buffer = Int(feedBuffer), buffer >= 1024 else { throw CLIError("\(source("feed-buffer")) must be at least 1024 bytes, not '\(feedBuffer)'") }
        guard let retention = Double(feedRetention), retention > 0, retention <= 36_500 else {
            throw CLIError("\(source("feed-retention")) must be a positive number of days (at most 36500), not '\(feedRetention)'")
        }
        guard let maxEvents = Int(feedMaxEvents), maxEvents >= 0 else { throw CLIError("\(source("feed-max-events")) must be 0 or more, not '\(feedMaxEvents)'") }
        guard let maxBands = Int(feedMaxBands), maxBands > 0 else { throw CLIError("\(source("feed-max-bands")) must be a positive number, not '\(feedMaxBands)'") }
        guard let bandsPerConnection = Int(feedBandsPerConnection), bandsPerConnection > 0 else {
            throw CLIError("\(source("feed-bands-per-connection")) must be a positive number, not '\(feedBandsPerConnection)'")
        }
        guard let bandFilters = Int(feedBandFilters), (1...200).contains(bandFilters) else {
            throw CLIError("\(source("feed-band-filters")) must be 1 to 200, not '\(feedBandFilters)'")
        }
        guard let progress = Double(feedProgressInterval), progress >= 0.1, progress <= 3600 else {
            throw CLIError("\(source("feed-progress-interval")) must be 0.1 to 3600 seconds, not '\(feedProgressInterval)'")
        }
        _ = try database.poolSize()
        var store = StoreConfiguration(path: database.db, migrationsDirectory: migrationOptions.migrations, connection: try database.connectionOptions())
        store.feed = !noFeed
        guard ["background", "commit"].contains(walCheckpoint) else { throw CLIError("\(source("wal-checkpoint")) must be background or commit, not '\(walCheckpoint)'") }
        store.backgroundCheckpoints = walCheckpoint == "background"
        var server = ServerConfiguration(host: host, port: port, maxBodySize: maxBody, idleTimeout: .seconds(Int64(idle)))
        server.streamBufferLimit = buffer
        server.limits = try limitOptions.limits(descriptors: LimitOptions.raiseDescriptorLimit()).limits
        var configuration = AppConfiguration(store: store, server: server)
        if PostgresURL.isPostgres(database.db) {
            // PostgreSQL's dialect of the same schema, beside SQLite's (docs/POSTGRES-SCHEMA.md).
            do {
                var endpoint = try PostgresURL.endpoint(database.db)
                // PostgREST's default; postgres-nio's own (20) + LISTEN's put five default nodes past
                // PostgreSQL's default max_connections (100), bench/RESULTS.md.
                endpoint.client.options.maximumConnections = try database.poolSize() ?? 10
                configuration.postgres = PostgresEngineConfiguration(endpoint: endpoint, migrationsDirectory: migrationOptions.migrations + "/postgres")
            } catch let error as StoreError {
                throw CLIError("\(source("db")): \(error.message)")
            }
        }
        switch (tlsCertificate.isEmpty ? nil : tlsCertificate, tlsKey.isEmpty ? nil : tlsKey) {
        case let (certificate?, key?): configuration.tls = TLSFiles(certificateChain: certificate, privateKey: key)
        case (nil, nil): break
        case (nil, _?): throw CLIError("--tls-key needs --tls-cert, the certificate it is the key of")
        case (_?, nil): throw CLIError("--tls-cert needs --tls-key, the certificate's private key")
        }
        configuration.rules = try rulesOptions.load(migrations: migrationOptions.migrations)
        configuration.publicAccess = publicAccess
        configuration.auth = try jwt.configuration()
        for origin in corsOrigins where origin != "*" {
            guard origin.hasPrefix("http://") || origin.hasPrefix("https://"), !origin.dropFirst(8).contains("/") else {
                throw CLIError("\(source("cors-origin")) takes an origin such as https://app.example (scheme, host, optional port; no path) or *, not '\(origin)'")
            }
        }
        configuration.crossOrigin = CrossOriginPolicy(origins: corsOrigins)
        // A rate under 0.001 would ask a client to wait for ages (1e-19: longer than the universe).
        guard let rate = Double(rateLimit), rate == 0 || (rate >= 0.001 && rate.isFinite) else {
            throw CLIError("\(source("rate-limit")) must be 0 (no limit) or at least 0.001 requests per second, not '\(rateLimit)'")
        }
        if rate > 0 {
            let burst = rateBurst.isEmpty ? max(1, rate * 2) : Double(rateBurst) ?? -1
            guard burst >= 1, burst.isFinite else { throw CLIError("\(source("rate-burst")) must be at least 1, not '\(rateBurst)'") }
            configuration.rateLimit = (rate, burst)
        }
        configuration.metrics = !noMetrics
        configuration.explorer = !noUI
        configuration.feed.heartbeat = .seconds(Int64(heartbeat))
        configuration.feed.retention = .milliseconds(Int64(retention * 86_400_000))
        configuration.feed.maxEvents = maxEvents > 0 ? maxEvents : nil
        configuration.feed.hub.maxBands = maxBands
        configuration.feed.bandsPerConnection = bandsPerConnection
        configuration.feed.bandFilters = bandFilters
        configuration.feed.hub.progressInterval = .milliseconds(Int64(progress * 1000))
        return configuration
    }
}

/// Each option's default, read from the typed configuration it fills: one place defines it.
enum Defaults {
    static let server = ServerConfiguration()
    static let feed = FeedConfiguration()

    static func seconds(_ amount: TimeAmount) -> String { String(amount.nanoseconds / 1_000_000_000) }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return attoseconds == 0 ? String(seconds) : String(Double(seconds) + Double(attoseconds) / 1e18)
    }

    static func days(_ duration: Duration) -> String {
        let days = Double(duration.components.seconds) / 86_400
        return days == days.rounded() ? String(Int(days)) : String(days)
    }
}
