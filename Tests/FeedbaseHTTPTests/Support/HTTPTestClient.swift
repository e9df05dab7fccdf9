// A small HTTP/1.1 client over a raw TCP socket for end-to-end tests: it writes exactly the bytes
// a test asks for (malformed, pipelined, partial) and parses responses by Content-Length,
// chunked encoding or close. Every call (connect included) is bounded as a whole by the
// connection's timeout and runs on a thread of its own (`offload`), never on Swift's cooperative
// pool, which the server under test needs.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct HTTPTestClientError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

struct HTTPResponse: Sendable {
    var status: Int
    var reason: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func headers(named name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Runs blocking work on a new thread and awaits it, so the cooperative pool stays free.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Unchecked Sendable: a connection is used by one test at a time, one call after another.
final class HTTPConnection: @unchecked Sendable {
    private var descriptor: Int32
    var buffer: [UInt8] = []
    private let timeout: Duration
    /// When the current operation gives up; every public call starts a new one (`bounded`).
    private var deadline = ContinuousClock.now

    /// `timeout` bounds each operation so that a hang fails the test instead of stalling the
    /// run; it is not a speed check. CI's first pass runs hundreds of servers at once on two
    /// cores, where an answer can take seconds: 30 s tells a hang from a loaded machine.
    convenience init(port: Int, timeout: Duration = .seconds(30)) async throws {
        let box = try await offload { try Box(HTTPConnection(port: port, host: "127.0.0.1", timeout: timeout)) }
        self.init(taking: box.value)
    }

    private struct Box: @unchecked Sendable { let value: HTTPConnection; init(_ value: HTTPConnection) { self.value = value } }

    private init(taking other: HTTPConnection) {
        descriptor = other.descriptor
        timeout = other.timeout
        other.descriptor = -1
    }

    private init(port: Int, host: String, timeout: Duration) throws {
        self.timeout = timeout
        #if canImport(Glibc)
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw HTTPTestClientError(message: "socket() failed: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close()
            throw HTTPTestClientError(message: "not an IPv4 address: \(host)")
        }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        // Non-blocking from here on: connect, send and recv only proceed after poll says so.
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        deadline = ContinuousClock.now + timeout
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        var code = result == 0 ? 0 : errno
        if code == EINPROGRESS || code == EINTR {
            do {
                guard try wait(for: Int16(POLLOUT)) else {
                    close()
                    throw HTTPTestClientError(message: "timed out connecting to \(host):\(port)")
                }
            } catch {
                close()
                throw error
            }
            var pending: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            code = getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &length) == 0 ? pending : errno
        }
        guard code == 0 else {
            close()
            throw HTTPTestClientError(message: "connect to \(host):\(port) failed: errno \(code)")
        }
    }

    deinit { close() }

    func close() {
        if descriptor >= 0 {
            #if canImport(Glibc)
            _ = Glibc.close(descriptor)
            #else
            _ = Darwin.close(descriptor)
            #endif
            descriptor = -1
        }
    }

    /// Runs one operation with a fresh deadline, `timeout` from now.
    func bounded<T>(_ body: () throws -> T) rethrows -> T {
        deadline = ContinuousClock.now + timeout
        return try body()
    }

    /// Milliseconds left until `deadline`, rounded up so poll never spins at 0 early.
    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let (seconds, attoseconds) = (deadline - ContinuousClock.now).components
        guard seconds >= 0, seconds < Int64(Int32.max / 1000) else { return seconds < 0 ? 0 : Int32.max }
        return Int32(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    func send(_ raw: [UInt8]) async throws {
        try await offload { try self.bounded { try self.sendNow(raw) } }
    }

    func write(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws {
        try await offload { try self.bounded { try self.writeNow(method, target, headers: headers, body: body) } }
    }

    func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> HTTPResponse {
        try await offload { try self.bounded { try self.requestNow(method, target, headers: headers, body: body) } }
    }

    func readResponse(forHEAD: Bool = false) async throws -> HTTPResponse {
        try await offload { try self.bounded { try self.readResponseNow(forHEAD: forHEAD) } }
    }

    func isClosedByPeer(within: Duration) async -> Bool {
        (try? await offload { self.isClosedByPeerNow(within: within) }) ?? false
    }

    /// Whether the server sends something (or closes) within `within`; nothing is read.
    func hasInput(within: Duration) async -> Bool {
        (try? await offload {
            self.deadline = ContinuousClock.now + within
            return try self.wait(for: Int16(POLLIN))
        }) ?? true
    }

    /// Reads a response head only (for a streamed body read with `nextChunk`).
    func readHead() async throws -> HTTPResponse {
        try await offload { try self.bounded { try self.readResponseNow(forHEAD: true) } }
    }

    /// The next chunk of a chunked body; nil at its end.
    func nextChunk() async throws -> [UInt8]? {
        try await offload {
            try self.bounded {
                let size = try self.readChunkSize()
                if size == 0 {
                    try self.skipTrailers()
                    return nil
                }
                try self.fill(size + 2)
                let chunk = Array(self.buffer[..<size])
                self.buffer.removeFirst(size + 2)
                return chunk
            }
        }
    }

    /// Writes `raw` as given.
    private func sendNow(_ raw: [UInt8]) throws {
        var offset = 0
        while offset < raw.count {
            guard try wait(for: Int16(POLLOUT)) else { throw HTTPTestClientError(message: "timed out writing") }
            let written = raw[offset...].withUnsafeBytes { systemSend(descriptor, $0.baseAddress, $0.count) }
            if written < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
            guard written > 0 else { throw HTTPTestClientError(message: "send failed: errno \(errno)") }
            offset += written
        }
    }

    /// Writes one request; adds Host, and Content-Length for a body unless a length or
    /// transfer-encoding header is given.
    func writeNow(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let lowered = headers.map { $0.0.lowercased() }
        if let body, !lowered.contains("content-length"), !lowered.contains("transfer-encoding") {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        try sendNow(Array(head.utf8) + (body ?? []))
    }

    private func requestNow(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws -> HTTPResponse {
        do {
            try writeNow(method, target, headers: headers, body: body)
        } catch {
            // A server may answer (413) and close before reading all of a large body: the
            // answer, if it arrived, is still worth reading.
            if let response = try? readResponseNow(forHEAD: method == "HEAD") { return response }
            throw error
        }
        return try readResponseNow(forHEAD: method == "HEAD")
    }

    /// Reads the next response on this connection.
    func readResponseNow(forHEAD: Bool = false) throws -> HTTPResponse {
        let headEnd = try readUntil([13, 10, 13, 10])
        let headText = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        guard !lines.isEmpty else { throw HTTPTestClientError(message: "empty response head") }
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2).map(String.init)
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw HTTPTestClientError(message: "bad status line: \(headText)")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw HTTPTestClientError(message: "bad header: \(line)") }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters()))
        }
        var response = HTTPResponse(status: status, reason: statusLine.count > 2 ? statusLine[2] : "", headers: headers, body: [])
        if forHEAD || status / 100 == 1 || status == 204 || status == 304 { return response }
        if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            while true {
                let size = try readChunkSize()
                if size == 0 {
                    try skipTrailers()
                    return response
                }
                try fill(size + 2)
                response.body += buffer[..<size]
                buffer.removeFirst(size + 2)
            }
        }
        if let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText) else { throw HTTPTestClientError(message: "bad Content-Length \(lengthText)") }
            try fill(length)
            response.body = Array(buffer[..<length])
            buffer.removeFirst(length)
            return response
        }
        while try readMore() {}
        response.body = buffer
        buffer = []
        return response
    }

    /// Whether the server closes the connection within `within` (reading and dropping any bytes).
    private func isClosedByPeerNow(within: Duration) -> Bool {
        guard descriptor >= 0 else { return true }
        deadline = ContinuousClock.now + within
        while true {
            guard (try? wait(for: Int16(POLLIN))) == true else { return false }
            var scratch = [UInt8](repeating: 0, count: 4096)
            let count = scratch.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 || (count < 0 && errno == ECONNRESET) { return true }
            if count < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR { return false }
        }
    }

    /// Waits until `events` are ready or `deadline` passes (false); retries after signals.
    private func wait(for events: Int16) throws -> Bool {
        guard descriptor >= 0 else { throw HTTPTestClientError(message: "connection is closed") }
        while true {
            var pollDescriptor = pollfd(fd: descriptor, events: events, revents: 0)
            let result = poll(&pollDescriptor, 1, Self.milliseconds(until: deadline))
            if result < 0, errno == EINTR { continue }
            guard result >= 0 else { throw HTTPTestClientError(message: "poll failed: errno \(errno)") }
            return result > 0
        }
    }

    /// Reads what is available (waiting until the deadline); false at end of stream.
    @discardableResult
    private func readMore() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            guard try wait(for: Int16(POLLIN)) else { throw HTTPTestClientError(message: "timed out reading a response") }
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 || (count < 0 && errno == ECONNRESET) { return false }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
            guard count > 0 else { throw HTTPTestClientError(message: "recv failed: errno \(errno)") }
            buffer += chunk[..<count]
            return true
        }
    }

    /// Reads a chunk-size line (extensions after `;` ignored).
    private func readChunkSize() throws -> Int {
        let lineEnd = try readUntil([13, 10])
        let line = String(decoding: buffer[..<lineEnd], as: UTF8.self)
        buffer.removeFirst(lineEnd + 2)
        let sizeText = line.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard let size = Int(sizeText.trimmingCharacters(), radix: 16), size >= 0 else {
            throw HTTPTestClientError(message: "bad chunk size: \(line)")
        }
        return size
    }

    /// Skips the trailer section after the last chunk, up to and including its empty line.
    private func skipTrailers() throws {
        while true {
            let lineEnd = try readUntil([13, 10])
            buffer.removeFirst(lineEnd + 2)
            if lineEnd == 0 { return }
        }
    }

    func fill(_ count: Int) throws {
        while buffer.count < count {
            guard try readMore() else { throw HTTPTestClientError(message: "connection closed mid-response") }
        }
    }

    /// The index where `delimiter` starts in the buffer, reading more as needed.
    private func readUntil(_ delimiter: [UInt8]) throws -> Int {
        var searchFrom = 0
        while true {
            if buffer.count >= delimiter.count {
                for index in searchFrom...(buffer.count - delimiter.count) where buffer[index] == delimiter[0] {
                    if buffer[index..<index + delimiter.count].elementsEqual(delimiter) { return index }
                }
                searchFrom = buffer.count - delimiter.count + 1
            }
            guard try readMore() else { throw HTTPTestClientError(message: "connection closed before a full response") }
        }
    }
}

enum HTTP {
    /// One request on a fresh connection.
    static func request(
        port: Int, _ method: String, _ target: String, headers: [(String, String)] = [], body: String? = nil
    ) async throws -> HTTPResponse {
        let connection = try await HTTPConnection(port: port)
        defer { connection.close() }
        return try await connection.request(method, target, headers: headers, body: body.map { Array($0.utf8) })
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    fileprivate func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// send(2) without SIGPIPE on a closed peer.
private func systemSend(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.send(descriptor, bytes, count, Int32(MSG_NOSIGNAL))
    #else
    Darwin.send(descriptor, bytes, count, 0)
    #endif
}
