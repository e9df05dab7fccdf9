// `feedbase serve`: migrate, introspect, serve HTTP until SIGINT/SIGTERM, then stop gracefully
// (stop accepting, finish in-flight requests within a bound, close the database) and exit 0.

import ArgumentParser
import Dispatch
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

    @Option(name: .customLong("log-level"), help: "trace, debug, info (one line per request), notice, warning, error (env FEEDBASE_LOG_LEVEL).")
    var logLevel: String = environment("LOG_LEVEL") ?? "info"

    func run() async throws {
        var logger = Logger(label: "feedbase")
        let server: HTTPServer
        let store: SQLiteStore
        do {
            guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
                throw CLIError("--log-level must be one of trace, debug, info, notice, warning, error, critical, not '\(logLevel)'")
            }
            logger.logLevel = level
            guard let port = Int(port), (0...65535).contains(port) else { throw CLIError("--port must be 0 to 65535, not '\(port)'") }
            guard let maxBody = Int(maxBody), maxBody > 0 else { throw CLIError("--max-body must be a positive number of bytes, not '\(maxBody)'") }
            guard let idle = Int(idleTimeout), idle > 0 else { throw CLIError("--idle-timeout must be a positive number of seconds, not '\(idleTimeout)'") }
            let configuration = StoreConfiguration(
                path: database.db, migrationsDirectory: migrationOptions.migrations, connection: try database.connectionOptions())
            store = try SQLiteStore(configuration, logger: logger)
            do {
                server = try await HTTPServer.start(
                    ServerConfiguration(host: host, port: port, maxBodySize: maxBody, idleTimeout: .seconds(Int64(idle))),
                    api: API(store: store, logger: logger), logger: logger)
            } catch {
                await store.close()
                throw CLIError("cannot listen on \(host):\(port): \(error)")
            }
        } catch let error as StoreError {
            printError(error.message)
            throw ExitCode.failure
        } catch let error as CLIError {
            printError(error.description)
            throw ExitCode.failure
        }
        let collections = store.schema.collections.map(\.name).joined(separator: ", ")
        logger.notice("listening on http://\(host.contains(":") ? "[\(host)]" : host):\(server.port)", metadata: ["collections": "\(collections)"])
        let signal = await Signals.next([SIGINT, SIGTERM])
        logger.notice("stopping", metadata: ["signal": "\(signal)"])
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
