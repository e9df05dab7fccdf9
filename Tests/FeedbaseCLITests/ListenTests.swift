// Starting `feedbase serve` where it cannot, with the real binary: a port in use, a database in
// a directory that is missing or not writable, a read-only file. Each is one error line saying
// what is wrong and what to do, before anything is written; and the hosts a person types
// (`localhost`, `::1`, `[::1]`) are served.

import FeedbaseTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct ListenTests {
    /// The port of a `serve` whose log says it listens.
    static func port(of server: ServeProcess) async throws -> Int {
        let log = try await server.waitForLog { $0.contains("listening on http://") }
        let line = try #require(log.split(separator: "\n").first { $0.contains("listening on") })
        let address = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") })
        return try #require(Int(address.split(separator: ":").last ?? ""))
    }

    /// The status line of `GET /_health` at `address` (IPv4 or IPv6 literal), over a plain
    /// socket (URLSession on Linux refuses IPv6 literals), on a thread of its own, bounded by
    /// the socket's 10-second timeouts.
    static func health(_ address: String, port: Int) async -> String {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: healthNow(address, port: port)) }
        }
    }

    private static func healthNow(_ address: String, port: Int) -> String {
        let family = address.contains(":") ? AF_INET6 : AF_INET
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return "no socket" }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var storage = sockaddr_storage()
        let length: Int
        if family == AF_INET6 {
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET6, address, &v6.sin6_addr)
            withUnsafeBytes(of: v6) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
            length = MemoryLayout<sockaddr_in6>.size
        } else {
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, address, &v4.sin_addr)
            withUnsafeBytes(of: v4) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
            length = MemoryLayout<sockaddr_in>.size
        }
        let connected = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(length)) }
        }
        guard connected == 0 else { return "cannot connect: errno \(errno)" }
        let request = Array("GET /_health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".utf8)
        guard send(descriptor, request, request.count, 0) == request.count else { return "cannot send" }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
    }

    /// Whether this machine can listen on ::1 at all.
    static var hasIPv6Loopback: Bool {
        let descriptor = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
        }
    }

    @Test func aPortInUseIsOneLineSayingWhatToDoAndNothingIsWritten() async throws {
        let first = try Workspace()
        try first.copyMigrations()
        let server = try ServeProcess(["--port", "0"], in: first.path)
        let port = try await Self.port(of: server)

        let second = try Workspace()
        try second.copyMigrations()
        let refused = try await run(["serve", "--port", "\(port)"], in: second.path)
        expectOneErrorLine(refused, containing: "port \(port) on 127.0.0.1 is in use by another program; stop it, or pass --port with another port (0 picks a free one)")
        #expect(!refused.stderr.contains("bind(") && !refused.stderr.contains("errno"))
        // Refused before the database was created or migrated.
        #expect(!FileManager.default.fileExists(atPath: second.file("feedbase.sqlite")))
        #expect(try await server.stop() == 0)
    }

    @Test func aDatabaseThatCannotBeOpenedNamesItsPathAndTheReason() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        expectOneErrorLine(try await run(["serve", "--port", "0", "--db", "missing/dir/x.sqlite"], in: workspace.path),
            containing: "cannot open missing/dir/x.sqlite: the directory missing/dir does not exist")
        expectOneErrorLine(try await run(["migrate", "--db", "missing/x.sqlite"], in: workspace.path),
            containing: "cannot open missing/x.sqlite: the directory missing does not exist")
        guard let locked = try ReadOnlyDirectory(workspace.file("locked")) else { return }
        defer { locked.release() }
        try locked.freeze()
        expectOneErrorLine(try await locked.run(["migrate", "--db", "locked/x.sqlite"], in: workspace.path),
            containing: "cannot open locked/x.sqlite: the directory locked is not writable for this user")
        guard let frozen = try ReadOnlyDirectory(workspace.file("frozen")) else { return }
        defer { frozen.release() }
        #expect(try await run(["migrate", "--db", "frozen/x.sqlite"], in: workspace.path).status == 0)
        try frozen.freeze()
        expectOneErrorLine(try await frozen.run(["serve", "--port", "0", "--db", "frozen/x.sqlite"], in: workspace.path),
            containing: "cannot open frozen/x.sqlite: the file is read-only for this user")
    }

    @Test func localhostIsServedOnBothLoopbacks() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let server = try ServeProcess(["--port", "0", "--host", "localhost"], in: workspace.path)
        let port = try await Self.port(of: server)
        #expect(server.log.contains("listening on http://localhost:\(port)"))
        #expect(await Self.health("127.0.0.1", port: port) == "HTTP/1.1 200 OK")
        if Self.hasIPv6Loopback {
            #expect(await Self.health("::1", port: port) == "HTTP/1.1 200 OK")
        }
        #expect(try await server.stop() == 0)
    }

    @Test(arguments: ["::1", "[::1]"])
    func anIPv6LoopbackIsServed(host: String) async throws {
        guard Self.hasIPv6Loopback else { return }
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let server = try ServeProcess(["--port", "0", "--host", host], in: workspace.path)
        let port = try await Self.port(of: server)
        #expect(server.log.contains("listening on http://[::1]:\(port)"))
        #expect(await Self.health("::1", port: port) == "HTTP/1.1 200 OK")
        #expect(try await server.stop() == 0)
    }
}

/// A directory the binary cannot write into, whoever runs the tests: for a user, permissions
/// (0555, its files 0444). Permissions do not bind root (and CI runs as root): then a tmpfs of
/// the test's own remounted read-only, which binds root too, or where root may not mount (no
/// CAP_SYS_ADMIN) the binary run as `nobody` through setpriv.
struct ReadOnlyDirectory {
    let path: String
    private enum Way { case permissions, mount, otherUser }
    private let way: Way
    static let setpriv = "/usr/bin/setpriv"

    /// A writable directory at `path` until `freeze`; nil (having said why) as root when neither
    /// a mount nor setpriv is available, where nothing can be read-only to the binary.
    init?(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
        if getuid() != 0 {
            way = .permissions
        } else if mount("tmpfs", path, "tmpfs", 0, "size=4m") == 0 {
            way = .mount
        } else if FileManager.default.isExecutableFile(atPath: Self.setpriv) {
            way = .otherUser
        } else {
            print("ListenTests: running as root, unable to mount a tmpfs (errno \(errno)) and without \(Self.setpriv); the read-only checks are skipped")
            return nil
        }
    }

    func freeze() throws {
        if way == .mount {
            guard mount("tmpfs", path, "tmpfs", UInt(MS_REMOUNT) | UInt(MS_RDONLY), nil) == 0 else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path, "errno": errno])
            }
        } else {
            for name in try FileManager.default.contentsOfDirectory(atPath: path) { chmod(path + "/" + name, 0o444) }
            chmod(path, 0o555)
        }
    }

    /// The binary with `arguments`, as the user the directory is read-only to.
    func run(_ arguments: [String], in directory: String) async throws -> Run {
        guard way == .otherUser else { return try await FeedbaseCLITests.run(arguments, in: directory) }
        let user = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", try feedbaseBinary().path]
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FEEDBASE_") }
        let result = try await ChildProcess.run(Self.setpriv, user + arguments, directory: directory, environment: environment)
        return Run(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// Writable again (the workspace removes it).
    func release() {
        if way == .mount { umount2(path, Int32(MNT_DETACH)) } else { chmod(path, 0o755) }
    }
}
