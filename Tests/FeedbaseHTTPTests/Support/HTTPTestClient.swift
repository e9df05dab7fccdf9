// A small HTTP/1.1 client over a raw TCP socket for end-to-end tests: it writes exactly the bytes
// a test asks for (malformed, pipelined, partial) and parses responses by Content-Length,
// chunked encoding or close. Every blocking call is bounded by a timeout and runs on a thread of
// its own (`offload`), never on Swift's cooperative pool, which the server under test needs.

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
    private var buffer: [UInt8] = []
    private let timeout: Duration

    convenience init(port: Int, timeout: Duration = .seconds(10)) async throws {
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
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close()
            throw HTTPTestClientError(message: "connect to \(host):\(port) failed: errno \(code)")
        }
    }

    deinit { close() }

    func close() {
        if descriptor >= 0 {
            _ = Glibc.close(descriptor)
            descriptor = -1
        }
    }

    private var timeoutMilliseconds: Int32 {
        let (seconds, attoseconds) = timeout.components
        return Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    func send(_ raw: [UInt8]) async throws {
        try await offload { try self.sendNow(raw) }
    }

    func write(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws {
        try await offload { try self.writeNow(method, target, headers: headers, body: body) }
    }

    func request(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) async throws -> HTTPResponse {
        try await offload { try self.requestNow(method, target, headers: headers, body: body) }
    }

    func readResponse(forHEAD: Bool = false) async throws -> HTTPResponse {
        try await offload { try self.readResponseNow(forHEAD: forHEAD) }
    }

    func isClosedByPeer(within: Duration) async -> Bool {
        (try? await offload { self.isClosedByPeerNow(within: within) }) ?? false
    }

    /// Writes `raw` as given.
    private func sendNow(_ raw: [UInt8]) throws {
        var offset = 0
        while offset < raw.count {
            guard try wait(for: Int16(POLLOUT)) else { throw HTTPTestClientError(message: "timed out writing") }
            let written = raw[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw HTTPTestClientError(message: "send failed: errno \(errno)") }
            offset += written
        }
    }

    /// Writes one request; adds Host, and Content-Length for a body unless a length or
    /// transfer-encoding header is given.
    private func writeNow(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws {
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
    private func readResponseNow(forHEAD: Bool = false) throws -> HTTPResponse {
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
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            headers.append((String(line[..<colon]), String(value)))
        }
        var response = HTTPResponse(status: status, reason: statusLine.count > 2 ? statusLine[2] : "", headers: headers, body: [])
        if forHEAD || status / 100 == 1 || status == 204 || status == 304 { return response }
        if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            while true {
                let lineEnd = try readUntil([13, 10])
                let sizeText = String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                buffer.removeFirst(lineEnd + 2)
                guard let size = Int(sizeText.trimmingCharacters(), radix: 16) else {
                    throw HTTPTestClientError(message: "bad chunk size: \(sizeText)")
                }
                if size == 0 {
                    let trailerEnd = try readUntil([13, 10])
                    buffer.removeFirst(trailerEnd + 2)
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
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            var pollDescriptor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let (seconds, attoseconds) = (deadline - ContinuousClock.now).components
            let milliseconds = max(1, Int32(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
            guard poll(&pollDescriptor, 1, milliseconds) > 0 else { continue }
            var scratch = [UInt8](repeating: 0, count: 4096)
            let count = scratch.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 || (count < 0 && errno == ECONNRESET) { return true }
            if count < 0 { return false }
        }
        return false
    }

    private func wait(for events: Int16) throws -> Bool {
        var pollDescriptor = pollfd(fd: descriptor, events: events, revents: 0)
        let result = poll(&pollDescriptor, 1, timeoutMilliseconds)
        guard result >= 0 else { throw HTTPTestClientError(message: "poll failed: errno \(errno)") }
        return result > 0
    }

    /// Reads what is available (waiting up to the timeout); false at end of stream.
    @discardableResult
    private func readMore() throws -> Bool {
        guard try wait(for: Int16(POLLIN)) else { throw HTTPTestClientError(message: "timed out reading a response") }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count == 0 || (count < 0 && errno == ECONNRESET) { return false }
        guard count > 0 else { throw HTTPTestClientError(message: "recv failed: errno \(errno)") }
        buffer += chunk[..<count]
        return true
    }

    private func fill(_ count: Int) throws {
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
    fileprivate func trimmingCharacters() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
