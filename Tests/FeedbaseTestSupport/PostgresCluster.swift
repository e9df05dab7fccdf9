// A throwaway PostgreSQL cluster for the test process: initdb into a temporary directory, one
// postgres on 127.0.0.1 (a free port, its unix socket inside that directory), and a fresh
// database per test (`CREATE DATABASE t_<random>`), so tests share the server and nothing else.
//
// - The binaries are found on PATH, else in the newest /usr/lib/postgresql/*/bin (Debian's
//   layout). Without them `PostgresCluster.unavailableReason` says so, and the PostgreSQL suites
//   are disabled with that reason: they show as skipped, never as a silent pass.
// - initdb and postgres refuse to run as root. As uid 0 they run as the `postgres` user (the
//   directory is chown'ed to it, the commands started through setpriv or runuser); as anyone
//   else they run as that user, and nothing here needs root.
// - Nothing outlives the test process: postgres is the child of a small watchdog shell, which
//   polls /proc for the test process (not a signal: as uid 0 the watchdog runs as the test's own
//   user, so it can always stop the server). When the test process is gone, however it ended
//   (a normal exit, a crash, kill -9), the watchdog gives postgres an immediate shutdown
//   (SIGQUIT: the data is thrown away anyway) and removes the directory. One mechanism for
//   every ending, rather than an atexit handler that a crash or kill -9 never runs.
// - A test that stops the server on purpose (`stop`, `start`, `restart`: fast or immediate
//   shutdown, the same data directory and port) starts a cluster of its own (`startDedicated`),
//   since every test of the process shares the other. It leaves a `hold` file in the directory
//   while the server is to stay down; the watchdog then starts it again instead of ending.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

public final class PostgresCluster: Sendable {
    /// Where a test's database is: connect over TCP with `username` and no password (trust).
    public struct Database: Sendable {
        public var host: String
        public var port: Int
        public var username: String
        public var name: String
        public var url: String { "postgres://\(username)@\(host):\(port)/\(name)" }
    }

    public let host = "127.0.0.1"
    public let port: Int
    public let username = "postgres"
    /// The temporary directory: the data directory, the server's socket and log are inside it.
    public let directory: String
    private let binaries: Binaries
    private let watchdog: ChildProcess

    /// Why the PostgreSQL tests cannot run here (nil when they can).
    public static let unavailableReason: String? = {
        switch Binaries.locate() {
        case .failure(let reason): reason.description
        case .success: nil
        }
    }()

    public static var isAvailable: Bool { unavailableReason == nil }

    private static let started = Mutex<Task<PostgresCluster, any Error>?>(nil)

    /// The test process's cluster, started by the first caller; every later caller gets the same.
    public static func shared() async throws -> PostgresCluster {
        let task = started.withLock { task in
            if let task { return task }
            let started = Task { try await start() }
            task = started
            return started
        }
        return try await task.value
    }

    /// A new, empty database for one test.
    public func createDatabase() async throws -> Database {
        let name = "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let result = try await ChildProcess.run(
            binaries.psql,
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", String(port), "-U", username, "-d", "postgres",
             "-c", "CREATE DATABASE \(name)"],
            environment: Self.environment)
        guard result.status == 0 else {
            throw ChildProcessError("CREATE DATABASE \(name) failed (\(result.status)): \(result.stderr)")
        }
        return Database(host: host, port: port, username: username, name: name)
    }

    /// Runs `sql` with psql on `database`, as another program would, and returns its unaligned
    /// output.
    public func psql(_ sql: String, on database: Database) async throws -> String {
        let result = try await ChildProcess.run(
            binaries.psql,
            ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", String(port), "-U", username, "-d", database.name, "-c", sql],
            environment: Self.environment)
        guard result.status == 0 else { throw ChildProcessError("psql failed (\(result.status)): \(result.stderr)") }
        return result.stdout
    }

    /// How the server is stopped, as `pg_ctl stop -m` does it: by the signal pg_ctl sends.
    public enum Shutdown: String, Sendable, CaseIterable {
        /// SIGINT: every session is terminated (each client is told, 57P01), then a checkpoint.
        case fast
        /// SIGQUIT: every process quits at once, as a crash; the next start recovers from WAL.
        case immediate

        var signal: Int32 { self == .fast ? SIGINT : SIGQUIT }
    }

    /// A cluster of this test's alone, for a test that stops the server: the shared one serves
    /// every other PostgreSQL test of the process. `shutDown()` ends it (else the process's end).
    /// `settings` are more of the server's `-c` settings (`ssl=on`, ...).
    public static func startDedicated(settings: [String] = []) async throws -> PostgresCluster {
        try await start(settings: settings)
    }

    /// Stops the server (`mode`) and returns once it has exited; it stays down until `start()`.
    public func stop(_ mode: Shutdown) async throws {
        let hold = directory + "/hold", down = directory + "/down"
        guard FileManager.default.createFile(atPath: hold, contents: nil) else { throw ChildProcessError("cannot create \(hold)") }
        let pidFile = (try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8)) ?? ""
        guard let pid = pidFile.split(separator: "\n").first.flatMap({ pid_t($0) }), kill(pid, mode.signal) == 0 else {
            throw ChildProcessError("no postmaster to stop in \(directory): \(pidFile)")
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while !FileManager.default.fileExists(atPath: down) {
            guard watchdog.isRunning else { throw ChildProcessError("the watchdog ended while postgres stopped") }
            guard ContinuousClock.now < deadline else { throw ChildProcessError("postgres did not stop (\(mode)) within 60 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Starts the stopped server again on its data directory and port; returns once it accepts
    /// connections (after an immediate shutdown, once its crash recovery is done).
    public func start() async throws {
        try FileManager.default.removeItem(atPath: directory + "/hold")
        guard try await Self.waitUntilReady(binaries, watchdog: watchdog, port: port, deadline: .now + .seconds(60)) else {
            throw ChildProcessError("postgres did not start again: \(log.suffix(2000))")
        }
    }

    /// `stop(mode)`, then `start()`.
    public func restart(_ mode: Shutdown) async throws {
        try await stop(mode)
        try await start()
    }

    /// Ends a dedicated cluster now: its server quits and its directory is removed.
    public func shutDown() async throws {
        guard FileManager.default.createFile(atPath: directory + "/quit", contents: nil) else { return }
        _ = try await watchdog.exitStatus(timeout: .seconds(60))
    }

    /// The server's log so far.
    public var log: String { (try? String(contentsOfFile: directory + "/postgres.log", encoding: .utf8)) ?? "" }

    private init(port: Int, directory: String, binaries: Binaries, watchdog: ChildProcess) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
        self.watchdog = watchdog
    }

    static let environment = ["PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL": "C", "TZ": "UTC"]

    private static func start(settings extra: [String] = []) async throws -> PostgresCluster {
        let binaries: Binaries
        switch Binaries.locate() {
        case .failure(let reason): throw reason
        case .success(let found): binaries = found
        }
        var template = Array("/tmp/feedbase-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ChildProcessError("mkdtemp: errno \(errno)") }
        let directory = String(cString: made)
        if let owner = binaries.runAs, chown(directory, owner.uid, owner.gid) != 0 {
            throw ChildProcessError("chown \(directory) to postgres: errno \(errno)")
        }
        let data = directory + "/data"
        let command = binaries.asServerUser
            + [binaries.initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"]
        let initdb = try await ChildProcess.run(command[0], Array(command.dropFirst()), directory: directory, environment: environment)
        guard initdb.status == 0 else {
            throw ChildProcessError("initdb failed (\(initdb.status)): \(initdb.stderr)\(initdb.stdout)")
        }
        // A port taken between the probe and postgres's bind is tried again with another.
        var failures: [String] = []
        for _ in 0..<5 {
            let port = try freePort()
            let watchdog = try startServer(binaries, directory: directory, data: data, port: port, settings: extra)
            if try await waitUntilReady(binaries, watchdog: watchdog, port: port, deadline: .now + .seconds(60)) {
                return PostgresCluster(port: port, directory: directory, binaries: binaries, watchdog: watchdog)
            }
            failures.append((try? String(contentsOfFile: directory + "/postgres.log", encoding: .utf8)) ?? "")
        }
        throw ChildProcessError("postgres did not start in \(directory): \(failures.joined(separator: "\n---\n"))")
    }

    /// The watchdog shell, as described at the top of this file. Its own stdout and stderr are
    /// the server's log file, so nothing writes to a pipe of the test process after it is gone.
    private static func startServer(_ binaries: Binaries, directory: String, data: String, port: Int, settings extra: [String]) throws -> ChildProcess {
        // `stays` holds while the test process lives and no shutDown() was asked for. A server
        // that exits while `hold` exists was stopped on purpose (stop()): the watchdog says so
        // (`down`), waits for `hold` to go and starts it again; any other exit ends the watchdog.
        let script = """
            parent=$1; dir=$2; shift 2
            stays() { [ -d "/proc/$parent" ] && [ ! -e "$dir/quit" ]; }
            while :; do
                "$@" >>"$dir/postgres.log" 2>&1 &
                server=$!
                while kill -0 "$server" 2>/dev/null && stays; do sleep 0.2; done
                kill -QUIT "$server" 2>/dev/null
                wait "$server"
                [ -e "$dir/hold" ] && stays || break
                : >"$dir/down"
                while [ -e "$dir/hold" ] && stays; do sleep 0.05; done
                rm -f "$dir/down"
                stays || break
            done
            stays || rm -rf "$dir"
            """
        let settings = ([
            "listen_addresses=127.0.0.1", "port=\(port)", "unix_socket_directories=\(directory)",
            // A throwaway server: durability buys the tests nothing (bench/ measures with it on).
            // synchronous_commit stays on: commits are visible only once flushed, as in
            // production, and the feed reader waits for no WAL writer (PostgresFeedReader).
            "fsync=off", "full_page_writes=off",
            "max_connections=300", "log_min_messages=warning", "log_min_error_statement=panic",
        ] + extra).flatMap { ["-c", $0] }
        return try ChildProcess(
            "/bin/sh", ["-c", script, "feedbase-pg-watchdog", String(getpid()), directory]
                + binaries.asServerUser + [binaries.postgres, "-D", data] + settings,
            directory: directory, environment: environment)
    }

    /// Polls pg_isready until the server accepts connections; false when the server exited.
    private static func waitUntilReady(_ binaries: Binaries, watchdog: ChildProcess, port: Int, deadline: ContinuousClock.Instant) async throws -> Bool {
        while ContinuousClock.now < deadline {
            guard watchdog.isRunning else { return false }
            let probe = try await ChildProcess.run(
                binaries.pgIsReady, ["-q", "-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-d", "postgres", "-t", "2"],
                environment: environment)
            if probe.status == 0 { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        watchdog.signal(SIGTERM)
        throw ChildProcessError("postgres was not ready within 60 s on port \(port)")
    }

    /// A port no one listens on now (the kernel's pick for an ephemeral bind).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ChildProcessError("socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ChildProcessError("bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
