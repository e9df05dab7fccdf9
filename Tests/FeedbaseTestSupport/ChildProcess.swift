// A child process for tests, spawned with posix_spawn rather than Foundation's `Process`.
//
// Why not `Process`: on Linux it lists /proc/self/fd before every spawn, copying each entry's
// whole `d_name` out of readdir's buffer, and it crashed a CI run (SIGSEGV in that copy) while
// the parallel test suite held some 1,500 descriptors. Here the child gets the descriptors above
// stderr closed by `posix_spawn_file_actions_addclosefrom_np`, default signal handling and an
// empty signal mask; its stdout and stderr are collected by two reader threads, and a third
// thread reaps it, so nothing here blocks Swift's cooperative pool.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FeedbaseTestSpawn
import Synchronization

public struct ChildProcessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public final class ChildProcess: Sendable {
    public let pid: pid_t
    private let state = Mutex(State())

    private struct State {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var openStreams = 2
        var reaped: Int32?
        var status: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    /// Starts `executable` (an absolute path) with `arguments`, in `directory`, with exactly
    /// `environment`. Standard input is /dev/null.
    public init(_ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String]) throws {
        var output: [Int32] = [0, 0], errors: [Int32] = [0, 0]
        guard feedbase_cloexec_pipe(&output) == 0 else { throw ChildProcessError("pipe2: errno \(errno)") }
        guard feedbase_cloexec_pipe(&errors) == 0 else {
            close(output[0]); close(output[1])
            throw ChildProcessError("pipe2: errno \(errno)")
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        feedbase_spawn_addclosefrom(&actions, 3)
        if let directory { feedbase_spawn_addchdir(&actions, directory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), defaults = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(output[1])
        close(errors[1])
        guard result == 0 else {
            close(output[0]); close(errors[0])
            throw ChildProcessError("cannot start \(executable): errno \(result)")
        }
        self.pid = pid
        let child = pid
        collect(output[0], into: \.stdout)
        collect(errors[0], into: \.stderr)
        PlainThread.start { [self] in
            var status: Int32 = 0
            while waitpid(child, &status, 0) == -1 && errno == EINTR {}
            self.finish { $0.reaped = status }
        }
    }

    /// Runs a command to its end and returns its exit status and output.
    public static func run(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String]
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, directory: directory, environment: environment)
        let status = await child.exitStatus()
        return (status, child.stdout, child.stderr)
    }

    public var stdout: String { state.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    public var stderr: String { state.withLock { String(decoding: $0.stderr, as: UTF8.self) } }
    public var isRunning: Bool { state.withLock { $0.status == nil } }

    public func signal(_ signal: Int32) { _ = kill(pid, signal) }

    /// The exit status (128 + N for a death by signal N), once the child has exited and both of
    /// its output streams are closed.
    public func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state -> Int32? in
                if state.status == nil { state.waiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Waits at most `timeout` for the exit; past it, kills the child and throws.
    public func exitStatus(timeout: Duration) async throws -> Int32 {
        try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { await self.exitStatus() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            if let first {
                group.cancelAll()
                return first
            }
            signal(SIGKILL)
            _ = await exitStatus()
            group.cancelAll()
            throw ChildProcessError("the child \(pid) did not exit within \(timeout); its stderr: \(stderr)")
        }
    }

    private func collect(_ descriptor: Int32, into stream: WritableKeyPath<State, [UInt8]> & Sendable) {
        PlainThread.start { [self] in
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    state.withLock { $0[keyPath: stream].append(contentsOf: buffer[..<count]) }
                } else if count == 0 || errno != EINTR {
                    break
                }
            }
            close(descriptor)
            finish { $0.openStreams -= 1 }
        }
    }

    private func finish(_ change: (inout State) -> Void) {
        let ready = state.withLock { state -> ([CheckedContinuation<Int32, Never>], Int32)? in
            change(&state)
            guard state.status == nil, state.openStreams == 0, let raw = state.reaped else { return nil }
            let status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
            state.status = status
            defer { state.waiters = [] }
            return (state.waiters, status)
        }
        if let (waiters, status) = ready { waiters.forEach { $0.resume(returning: status) } }
    }
}

/// A plain POSIX thread for blocking calls, off Swift's cooperative pool.
enum PlainThread {
    static func start(_ body: @escaping @Sendable () -> Void) {
        final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<Box>.fromOpaque(raw).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if result == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Box>.fromOpaque(box).release()
            body()  // no thread to be had: run it here rather than lose it
        }
    }
}
