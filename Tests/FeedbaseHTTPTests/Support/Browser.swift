// A real browser for end-to-end tests: headless Chromium from Debian's packages (when
// installed; CI installs it), driven by plain pages that report back to a small listener in the
// test (one POST per report, sent one after another), with no WebDriver in between.

import FeedbaseTestSupport
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `chromium` on the PATH, if any.
let chromium: String? = {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let path = String(directory) + "/chromium"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}()

/// Serves pages (by path) and collects the bodies POSTed to `/report`, in the order they arrive.
final class ReportListener: Sendable {
    let port: Int
    private let descriptor: Int32
    private let pages = Mutex<[String: String]>([:])
    private let reports = Mutex<[String]>([])

    /// `page` at `/page`.
    convenience init(page: String) throws {
        try self.init(pages: ["/page": page])
    }

    init(pages: [String: String]) throws {
        self.pages.withLock { $0 = pages }
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listening >= 0 else { throw HTTPTestClientError(message: "socket() failed: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(listening, address, length) == 0 && listen(listening, 16) == 0 && getsockname(listening, address, &length) == 0
            }
        }
        guard bound else {
            Glibc.close(listening)
            throw HTTPTestClientError(message: "cannot listen: \(errno)")
        }
        descriptor = listening
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(listening, nil, nil)
                guard connection >= 0 else { return }
                // A thread per connection: a browser opens sockets it may never send on.
                Thread.detachNewThread { self.serve(connection) }
            }
        }
    }

    var received: [String] { reports.withLock { $0 } }

    /// The page at `path` from now on.
    func serve(_ page: String, at path: String) { pages.withLock { $0[path] = page } }

    var origin: String { "http://127.0.0.1:\(port)" }

    /// Waits (bounded) until the reports satisfy `condition`.
    func waitFor(_ what: String, seconds: Int = 60, _ condition: ([String]) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition(received) {
            guard ContinuousClock.now < deadline else { throw HTTPTestClientError(message: "timed out waiting for \(what): \(received)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        Glibc.close(descriptor)
    }

    /// Answers the requests of one connection until it closes.
    private func serve(_ connection: Int32) {
        defer { Glibc.close(connection) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer: [UInt8] = []
        while true {
            guard let headerEnd = readUntilHeaderEnd(connection, &buffer) else { return }
            let head = String(decoding: buffer[..<headerEnd], as: UTF8.self)
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            while buffer.count < headerEnd + 4 + length {
                guard let more = readSome(connection) else { return }
                buffer += more
            }
            let body = String(decoding: buffer[(headerEnd + 4)..<(headerEnd + 4 + length)], as: UTF8.self)
            buffer.removeFirst(headerEnd + 4 + length)
            let response: String
            if head.hasPrefix("POST /report") {
                reports.withLock { $0.append(body) }
                response = "HTTP/1.1 204 No Content\r\n\r\n"
            } else if head.hasPrefix("GET "), let page = pages.withLock({ $0[String(head.dropFirst(4).prefix { $0 != " " && $0 != "?" })] }) {
                response = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: \(page.utf8.count)\r\n\r\n" + page
            } else {
                response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            }
            let bytes = Array(response.utf8)
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard count > 0 else { return }
                sent += count
            }
        }
    }

    private func readUntilHeaderEnd(_ connection: Int32, _ buffer: inout [UInt8]) -> Int? {
        let end: [UInt8] = [13, 10, 13, 10]
        while true {
            if buffer.count >= 4, let index = (0...(buffer.count - 4)).first(where: { Array(buffer[$0..<($0 + 4)]) == end }) { return index }
            guard let more = readSome(connection) else { return nil }
            buffer += more
        }
    }

    private func readSome(_ connection: Int32) -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(chunk[..<count]) : nil
    }
}

enum Browser {
    /// Headless Chromium on `url` with a profile in `directory`; `arguments` besides.
    static func open(_ url: String, profile directory: String, _ arguments: [String] = []) throws -> ChildProcess {
        let path = chromium ?? "/usr/bin/chromium"
        return try ChildProcess(path, [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--user-data-dir=\(directory)",
        ] + arguments + [url], environment: ProcessInfo.processInfo.environment)
    }

    /// Ends the browser (SIGTERM lets it end its own helper processes), bounded.
    static func close(_ browser: ChildProcess) async {
        browser.signal(SIGTERM)
        _ = try? await browser.exitStatus(timeout: .seconds(20))
    }
}
