// The real `feedbase serve`, one process at a time on one database file, started on port 0 and
// killed with SIGKILL. Clients ask it for the server that is up now (its port and generation)
// and wait, bounded, while there is none; a kill withdraws the server before the signal, so no
// client starts a request on a process known to be dying.

import FeedbaseTestSupport
import Foundation
import Synchronization

/// One started server process: which start it is, and where it listens.
struct Served: Sendable, Equatable {
    let generation: Int
    let port: Int
}

struct KillTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The clients' signal to stop: the run is over.
struct RunFinished: Error {}

final class KilledServer: Sendable {
    let directory: String
    var database: String { directory + "/kill.sqlite" }

    private struct State {
        var process: ChildProcess?
        var served: Served?
        var generation = 0
        var finished = false
        /// Standard error of every process so far, for the report of a failure.
        var logs: [String] = []
    }
    private let state = Mutex(State())

    /// `serve`'s logging flags: notice (no access lines) by default.
    private let logging: [String]

    init(logging: [String] = ["--log-level", "notice"]) throws {
        self.logging = logging
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-kill-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func removeFiles() { try? FileManager.default.removeItem(atPath: directory) }

    /// The environment of the test, without `FEEDBASE_*` (the test's own knobs among them), so
    /// the server runs on its flags and defaults only.
    static var environment: [String: String] { ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FEEDBASE_") } }

    /// Starts a process without waiting for it to listen.
    private func spawn() throws -> ChildProcess {
        try state.withLock { state in
            precondition(state.process == nil, "one server process at a time")
            let child = try ChildProcess(try feedbaseBinary().path, [
                "serve", "--port", "0", "--db", database, "--migrations", TestServer.shippedMigrations,
            ] + logging, directory: directory, environment: Self.environment)
            state.process = child
            state.generation += 1
            return child
        }
    }

    /// Starts the server and waits (at most `timeout`) until it listens; clients may use it then.
    /// A server that exits or stays silent instead is the failure "no restart after a kill".
    @discardableResult
    func start(timeout: Duration = .seconds(30)) async throws -> Served {
        let child = try spawn()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let log = child.stderr
            // The port's digits after the address, in a text line or a JSON one.
            if let range = log.range(of: "listening on http://127.0.0.1:"),
               let port = Int(log[range.upperBound...].prefix(while: \.isNumber)) {
                return state.withLock { state in
                    let served = Served(generation: state.generation, port: port)
                    state.served = served
                    return served
                }
            }
            if !child.isRunning { throw KillTestError("the server exited while starting (status \(await child.exitStatus())): \(log)") }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw KillTestError("the server did not listen within \(timeout): \(child.stderr)")
    }

    /// Starts a process and kills it `after` its start, listening or not: a kill during
    /// migrations, WAL recovery or the bind.
    func startAndKill(after delay: Duration) async throws {
        _ = try spawn()
        try await Task.sleep(for: delay)  // the random moment of the kill, not a wait for anything
        try await kill()
    }

    /// Withdraws the server from clients, then SIGKILLs it and waits (bounded) for it to be gone.
    /// A process that had already died by itself is a crash, reported with its log.
    /// With `stopping`, SIGTERM comes first and the SIGKILL that long after it, in the middle of
    /// the graceful stop (which may also have ended by then, with status 0).
    func kill(stopping: Duration? = nil) async throws {
        guard let (status, log) = try await end(SIGKILL, stopping: stopping) else { return }
        guard status == 128 + SIGKILL || (stopping != nil && status == 0) else {
            throw KillTestError("the server exited by itself (status \(status)) before the kill: \(log)")
        }
    }

    /// SIGTERM, as an operator stops it: it must exit 0 within the bound.
    func stop() async throws {
        guard let (status, log) = try await end(SIGTERM) else { return }
        guard status == 0 else { throw KillTestError("SIGTERM: exit status \(status): \(log)") }
    }

    /// Withdraws the server and sends `signal` now, without waiting: `exited` waits for the end.
    func signal(_ signal: Int32) {
        state.withLock { state in
            state.served = nil
            state.process?.signal(signal)
        }
    }

    /// Waits (bounded) for the process to end by itself; its exit status and log.
    func exited(timeout: Duration = .seconds(30)) async throws -> (status: Int32, log: String) {
        guard let child = state.withLock({ $0.process }) else { throw KillTestError("no server process") }
        let status = try await child.exitStatus(timeout: timeout)
        state.withLock { state in
            state.logs.append(child.stderr)
            state.process = nil
        }
        return (status, child.stderr)
    }

    /// Withdraws the server, signals the process and waits (bounded) for its exit status.
    private func end(_ signal: Int32, stopping: Duration? = nil) async throws -> (status: Int32, log: String)? {
        guard let child = state.withLock({ state -> ChildProcess? in
            state.served = nil
            return state.process
        }) else { return nil }
        if let stopping {
            child.signal(SIGTERM)
            try await Task.sleep(for: stopping)  // the moment of the kill, not a wait for anything
        }
        if child.isRunning { child.signal(signal) }
        let status = try await child.exitStatus(timeout: .seconds(30))
        state.withLock { state in
            state.logs.append(child.stderr)
            state.process = nil
        }
        return (status, child.stderr)
    }

    /// The end of a run that failed part-way: no process is left behind, and no client waits.
    func abandon() {
        state.withLock { state in
            state.finished = true
            state.served = nil
            state.process?.signal(SIGKILL)
        }
    }

    /// Tells every client waiting in `up` that the run is over.
    func finish() { state.withLock { $0.finished = true } }

    /// The server that is up, waiting for one at most `timeout`; `RunFinished` once the run is over.
    func up(timeout: Duration = .seconds(60)) async throws -> Served {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (served, finished) = state.withLock { ($0.served, $0.finished) }
            if finished { throw RunFinished() }
            if let served { return served }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw KillTestError("no server came up within \(timeout)")
    }

    /// The server that is up now, if any.
    var current: Served? { state.withLock { $0.served } }

    /// Lines of every process's log that tell of a crash or an error, for the report.
    var troubles: [String] {
        state.withLock { state in
            (state.logs + [state.process?.stderr ?? ""]).flatMap { $0.split(separator: "\n").map(String.init) }
                .filter { line in ["Fatal error", "error", "critical", "Stack dump", "backtrace"].contains { line.contains($0) } }
        }
    }

    /// Runs the stock `sqlite3` shell on the database, as another program would; its output.
    func sqlite3(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run("/usr/bin/env", ["sqlite3", "-cmd", ".timeout 5000"] + arguments, environment: Self.environment)
    }

    /// `PRAGMA integrity_check` through the shell: "ok", or what it found.
    func integrity() async throws -> String {
        let result = try await sqlite3([database, "PRAGMA integrity_check"])
        guard result.status == 0 else { return "sqlite3 failed (\(result.status)): \(result.stderr)" }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
