// `feedbase serve`: migrate, introspect, serve HTTP until SIGINT/SIGTERM, then stop gracefully
// (stop accepting, finish in-flight requests within a bound, close the database) and exit 0.

import ArgumentParser
import Dispatch
import FeedbaseFeed
import FeedbaseHTTP
import FeedbaseStore
import Foundation
import Logging
import NIOCore
import Synchronization

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations, then serve every collection over HTTP.")

    @Option(name: .long, help: "The address to listen on (env FEEDBASE_HOST).")
    var host: String = environment("HOST") ?? "127.0.0.1"

    @Option(name: .long, help: "The TCP port; 0 picks a free one and logs it (env FEEDBASE_PORT).")
    var port: String = environment("PORT") ?? "8080"

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var migrationOptions: MigrationOptions

    @Option(name: .customLong("max-body"), help: "The largest request body in bytes (env FEEDBASE_MAX_BODY).")
    var maxBody: String = environment("MAX_BODY") ?? "1048576"

    @Option(name: .customLong("idle-timeout"), help: "Seconds a connection may stay silent (env FEEDBASE_IDLE_TIMEOUT).")
    var idleTimeout: String = environment("IDLE_TIMEOUT") ?? "60"

    @Flag(name: .customLong("no-feed"), help: "Record no change events and serve no feed (env FEEDBASE_NO_FEED=1).")
    var noFeed = environment("NO_FEED").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false

    @Option(name: .customLong("feed-heartbeat"), help: "Seconds between feed pings (env FEEDBASE_FEED_HEARTBEAT).")
    var feedHeartbeat: String = environment("FEED_HEARTBEAT") ?? "30"

    @Option(name: .customLong("feed-buffer"), help: "Unsent bytes a feed subscriber may lag before it is cut off (env FEEDBASE_FEED_BUFFER).")
    var feedBuffer: String = environment("FEED_BUFFER") ?? "1048576"

    @Option(name: .customLong("feed-retention"), help: "Days of change events to keep (env FEEDBASE_FEED_RETENTION).")
    var feedRetention: String = environment("FEED_RETENTION") ?? "7"

    @Option(name: .customLong("feed-max-events"), help: "Most change events to keep; 0 for no limit (env FEEDBASE_FEED_MAX_EVENTS).")
    var feedMaxEvents: String = environment("FEED_MAX_EVENTS") ?? "0"

    @Option(name: .customLong("log-level"), help: "trace, debug, info (one line per request), notice, warning, error (env FEEDBASE_LOG_LEVEL).")
    var logLevel: String = environment("LOG_LEVEL") ?? "info"

    func run() async throws {
        var logger = Logger(label: "feedbase")
        let server: HTTPServer
        let store: SQLiteStore
        var hubTasks: Task<Void, Never>?
        var hub: ChangeHub?
        do {
            guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
                throw CLIError("--log-level must be one of trace, debug, info, notice, warning, error, critical, not '\(logLevel)'")
            }
            logger.logLevel = level
            guard let port = Int(port), (0...65535).contains(port) else { throw CLIError("--port must be 0 to 65535, not '\(port)'") }
            guard let maxBody = Int(maxBody), maxBody > 0 else { throw CLIError("--max-body must be a positive number of bytes, not '\(maxBody)'") }
            guard let idle = Int(idleTimeout), idle > 0 else { throw CLIError("--idle-timeout must be a positive number of seconds, not '\(idleTimeout)'") }
            guard let heartbeat = Int(feedHeartbeat), heartbeat > 0 else { throw CLIError("--feed-heartbeat must be a positive number of seconds, not '\(feedHeartbeat)'") }
            guard let buffer = Int(feedBuffer), buffer >= 1024 else { throw CLIError("--feed-buffer must be at least 1024 bytes, not '\(feedBuffer)'") }
            guard let retention = Double(feedRetention), retention > 0 else { throw CLIError("--feed-retention must be a positive number of days, not '\(feedRetention)'") }
            guard let maxEvents = Int(feedMaxEvents), maxEvents >= 0 else { throw CLIError("--feed-max-events must be 0 or more, not '\(feedMaxEvents)'") }
            var configuration = StoreConfiguration(
                path: database.db, migrationsDirectory: migrationOptions.migrations, connection: try database.connectionOptions())
            configuration.feed = !noFeed
            store = try SQLiteStore(configuration, logger: logger)
            var feed: FeedService?
            if !noFeed {
                let changeHub = ChangeHub(store: store)
                try await changeHub.start()
                hub = changeHub
                feed = FeedService(hub: changeHub, heartbeat: .seconds(Int64(heartbeat)))
                hubTasks = FeedMaintenance.start(hub: changeHub, store: store, retentionDays: retention, maxEvents: maxEvents, logger: logger)
            }
            do {
                var serverConfiguration = ServerConfiguration(host: host, port: port, maxBodySize: maxBody, idleTimeout: .seconds(Int64(idle)))
                serverConfiguration.streamBufferLimit = buffer
                server = try await HTTPServer.start(serverConfiguration, api: API(store: store, feed: feed, logger: logger), logger: logger)
            } catch {
                await store.close()
                throw CLIError("cannot listen on \(host):\(port): \(error)")
            }
        } catch {
            throw reported(error)
        }
        let collections = store.schema.collections.map(\.name).joined(separator: ", ")
        logger.notice("listening on http://\(host.contains(":") ? "[\(host)]" : host):\(server.port)", metadata: ["collections": "\(collections)"])
        let signal = await Signals.next([SIGINT, SIGTERM])
        logger.notice("stopping", metadata: ["signal": "\(signal)"])
        hubTasks?.cancel()
        // Feed subscribers first: their streams never end by themselves, so close them (WebSocket
        // 1001, SSE end of stream) rather than let the stop wait out its grace period.
        await hub?.shutdown()
        await server.stop()
        await store.close()
        logger.notice("stopped")
    }
}

/// Waits for the first of some signals, which are then no longer fatal to the process.
enum Signals {
    static func next(_ numbers: [Int32]) async -> Int32 {
        let fired = Mutex<Bool>(false)
        var sources: [any DispatchSourceSignal] = []
        let number: Int32 = await withCheckedContinuation { continuation in
            for number in numbers {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    let first = fired.withLock { fired in
                        defer { fired = true }
                        return !fired
                    }
                    if first { continuation.resume(returning: number) }
                }
                source.resume()
                sources.append(source)
            }
        }
        for source in sources { source.cancel() }
        return number
    }
}

/// The feed's background work: noticing writes made by other processes (within 250 ms) and
/// pruning the log by age and count (every minute, in small batches).
enum FeedMaintenance {
    static func start(hub: ChangeHub, store: SQLiteStore, retentionDays: Double, maxEvents: Int, logger: Logger) -> Task<Void, Never> {
        Task {
            var ticks = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                await hub.advance()
                ticks += 1
                if ticks % 240 == 1 {
                    do {
                        let age = Duration.milliseconds(Int64(retentionDays * 86_400_000))
                        let pruned = try await store.pruneChanges(olderThan: age, keep: maxEvents > 0 ? maxEvents : nil)
                        if pruned > 0 { logger.info("pruned change events", metadata: ["count": "\(pruned)"]) }
                    } catch {
                        logger.warning("pruning the change log failed", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
    }
}
