// A real browser's EventSource across a server restart: headless Chromium opens a band with
// `since=0` in its URL, the server stops and starts again on the same port and database (with
// writes by another program in between), and the page receives every event exactly once. The
// browser resumes as browsers do, with its URL unchanged and `Last-Event-ID` added, which is
// what the server must honour over the URL's `since`.
//
// The page is served by a small listener in this test, which also takes the page's reports
// (one POST per event, sent one after another); the test waits for them, bounded. Skipped when
// no `chromium` is installed here; CI installs it (.ci/run).

import FeedbaseApp
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `chromium` on the PATH, if any.
private let chromium: String? = {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let path = String(directory) + "/chromium"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return nil
}()

/// Serves one page and collects the bodies POSTed to `/report`, in the order they arrive.
private final class ReportListener: Sendable {
    let port: Int
    private let descriptor: Int32
    private let page: String
    private let reports = Mutex<[String]>([])

    init(page: String) throws {
        self.page = page
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
            } else if head.hasPrefix("GET /page") {
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

@Suite struct BrowserResumeTests {
    /// The page: an EventSource on a band with `since=0` in its URL; every `open`, `error`,
    /// `change` and `ready` is reported, one POST after another (so they arrive in order).
    private static func page(feedPort: Int) -> String {
        """
        <!doctype html><html><body><script>
        let chain = Promise.resolve();
        const report = (text) => { chain = chain.then(() => fetch('/report', {method: 'POST', body: text})).catch(() => {}); };
        const source = new EventSource('http://127.0.0.1:\(feedPort)/tasks?done=eq.false&select=id,title&since=0');
        source.addEventListener('open', () => report('open'));
        source.addEventListener('error', () => report('error'));
        source.addEventListener('ready', (event) => report('ready ' + JSON.parse(event.data).seq));
        source.addEventListener('change', (event) => {
          const data = JSON.parse(event.data);
          report('change ' + event.lastEventId + ' ' + data.seq + ' ' + data.op + ' ' + data.id);
        });
        </script></body></html>
        """
    }

    /// Waits (bounded) until the reports satisfy `condition`.
    private func waitFor(_ listener: ReportListener, _ what: String, _ condition: ([String]) -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition(listener.received) {
            guard ContinuousClock.now < deadline else { throw HTTPTestClientError(message: "timed out waiting for \(what): \(listener.received)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Ends the browser (SIGTERM lets it end its own helper processes), bounded.
    private static func close(_ browser: ChildProcess) async {
        browser.signal(SIGTERM)
        _ = try? await browser.exitStatus(timeout: .seconds(20))
    }

    private static func changeSeqs(_ reports: [String]) -> [Int] {
        reports.filter { $0.hasPrefix("change ") }.compactMap { Int($0.split(separator: " ")[2]) }
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed here (apt-get install chromium); CI installs it and runs this test"),
        arguments: Engine.available)
    func anEventSourceWithSinceInItsURLGetsEveryEventOnceAcrossARestart(engine: Engine) async throws {
        let browserPath = try #require(chromium)
        let allowAny: (inout AppConfiguration) -> Void = { $0.crossOrigin = CrossOriginPolicy(origins: ["*"]) }
        let first = try await TestServer.start(engine: engine, configure: allowAny)
        let port = first.port
        _ = try await first.request("POST", "/projects", json: #"{"name":"p"}"#)  // seq 1
        for title in ["a", "b", "c"] { _ = try await first.request("POST", "/tasks", json: #"{"project_id":1,"title":"\#(title)"}"#) }  // 2...4

        let listener = try ReportListener(page: Self.page(feedPort: port))
        defer { listener.stop() }
        let profile = first.directory + "/chromium-profile"
        let browser = try ChildProcess(browserPath, [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--user-data-dir=\(profile)", "http://127.0.0.1:\(listener.port)/page",
        ], environment: ProcessInfo.processInfo.environment)
        var current: TestServer? = first
        do {
            try await waitFor(listener, "the backlog") { $0.contains("ready 4") }
            _ = try await first.request("POST", "/tasks", json: #"{"project_id":1,"title":"d"}"#)  // 5, live
            try await waitFor(listener, "the live event") { Self.changeSeqs($0).contains(5) }

            // The server stops; another program writes meanwhile; it starts on the same port.
            current = nil
            await first.stop(removingFiles: false)
            try await first.foreignWrite(EngineSQL(  // 6, 7, 8
                sqlite: "INSERT INTO tasks (project_id, title) VALUES (1, 'e'), (1, 'f'); UPDATE tasks SET done = 1 WHERE id = 1",
                postgres: "INSERT INTO tasks (project_id, title) VALUES (1, 'e'), (1, 'f'); UPDATE tasks SET done = true WHERE id = 1"))
            let second = try await TestServer.start(
                engine: engine, directory: first.directory, migrations: first.migrations, database: first.postgres
            ) {
                allowAny(&$0)
                $0.server.port = port
            }
            current = second
            try await waitFor(listener, "the events written while the server was down") { Self.changeSeqs($0).contains(8) }
            _ = try await second.request("POST", "/tasks", json: #"{"project_id":1,"title":"g"}"#)  // 9
            try await waitFor(listener, "the live event after the restart") { Self.changeSeqs($0).contains(9) }
        } catch {
            await Self.close(browser)
            if let current {
                await current.stop()
            } else {
                // Stopped for the restart, not started again: its files and database are left.
                try? FileManager.default.removeItem(atPath: first.directory)
                if let database = first.postgres { try? await PostgresCluster.shared().dropDatabase(database) }
            }
            throw error
        }
        await Self.close(browser)
        await current?.stop()

        let reports = listener.received
        #expect(Self.changeSeqs(reports) == [2, 3, 4, 5, 6, 7, 8, 9], "\(reports)")
        // Every event's id is its seq, and the browser did reconnect (one more open).
        #expect(reports.filter { $0.hasPrefix("change ") }.allSatisfy { $0.split(separator: " ")[1] == $0.split(separator: " ")[2] }, "\(reports)")
        #expect(reports.filter { $0 == "open" }.count >= 2, "\(reports)")
        #expect(reports.filter { $0.hasPrefix("change ") }.map { String($0.split(separator: " ")[3]) } == [
            "create", "create", "create", "create", "create", "create", "leave", "create",
        ], "\(reports)")
    }
}
