// `feedbase serve --db postgres://...` as one node of several over one PostgreSQL database: the
// real binary on port 0, the shipped migrations, progress messages often (so a band's follower
// learns the log's end even when the last events are not its own), and a feed buffer large
// enough that followers read their streams after the writes without being cut off.

import FeedbaseTestSupport
import Foundation

final class ServedNode: Sendable {
    let name: String
    let process: ChildProcess
    let port: Int

    private init(name: String, process: ChildProcess, port: Int) {
        self.name = name
        self.process = process
        self.port = port
    }

    /// Starts a node and waits (bounded) until it listens.
    static func start(_ name: String, database: PostgresCluster.Database, timeout: Duration = .seconds(60)) async throws -> ServedNode {
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FEEDBASE_") }
        let child = try ChildProcess(try feedbaseBinary().path, [
            "serve", "--port", "0", "--db", database.url, "--migrations", TestServer.shippedMigrations, "--log-level", ProcessInfo.processInfo.environment["FEEDBASE_NODES_LOG_LEVEL"] ?? "notice",
            "--feed-progress-interval", "0.1", "--feed-buffer", "67108864",
        ], directory: FileManager.default.temporaryDirectory.path, environment: environment)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let log = child.stderr
            if let line = log.split(separator: "\n").first(where: { $0.contains("listening on http://127.0.0.1:") }),
               let port = Int(line.split(separator: ":").last ?? "") {
                return ServedNode(name: name, process: child, port: port)
            }
            guard child.isRunning else {
                throw HTTPTestClientError(message: "node \(name) exited while starting (status \(await child.exitStatus())): \(log)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        child.signal(SIGKILL)
        throw HTTPTestClientError(message: "node \(name) did not listen within \(timeout): \(child.stderr)")
    }

    /// Three nodes started together (so their migrations race for the advisory lock); should
    /// one fail to start, the others are killed before the error is thrown.
    static func startThree(database: PostgresCluster.Database) async throws -> [ServedNode] {
        let names = ["A", "B", "C"]
        var started: [String: ServedNode] = [:]
        var failure: (any Error)?
        await withTaskGroup(of: Result<ServedNode, any Error>.self) { group in
            for name in names {
                group.addTask {
                    do { return .success(try await start(name, database: database)) } catch { return .failure(error) }
                }
            }
            for await result in group {
                switch result {
                case .success(let node): started[node.name] = node
                case .failure(let error): failure = error
                }
            }
        }
        if let failure {
            for node in started.values { _ = try? await node.kill() }
            throw failure
        }
        return names.compactMap { started[$0] }
    }

    /// SIGTERM, as an operator stops a node: its exit status.
    func stop() async throws -> Int32 {
        guard process.isRunning else { return await process.exitStatus() }
        process.signal(SIGTERM)
        return try await process.exitStatus(timeout: .seconds(30))
    }

    /// SIGKILL: the node is gone at once, whatever it was doing; its exit status.
    func kill() async throws -> Int32 {
        process.signal(SIGKILL)
        return try await process.exitStatus(timeout: .seconds(30))
    }

    /// The lines of the node's log that tell of a crash.
    var crashes: [String] {
        process.stderr.split(separator: "\n").map(String.init).filter { line in
            ["Fatal error", "Stack dump", "backtrace"].contains { line.contains($0) }
        }
    }
}
