// SIGTERM to the real `feedbase serve` with one of everything open: a long-poll, a Server-Sent
// Events stream, a WebSocket and a write waiting for the database. Each ends as docs/API.md says,
// promptly (the stop ends them, not the grace period), and the write is acknowledged or refused,
// never lost: a restart on the same file serves it, with its event, exactly when it was
// acknowledged.

import FeedbaseTestSupport
@testable import FeedbaseSQLite
import Foundation
import Testing

@Suite struct ShutdownSignalTests {
    /// Far below the 10 s grace period: an end within it came from the stop itself, however
    /// loaded the machine.
    static let prompt: Duration = .seconds(5)

    /// `2026-12-07T15:02:18.704Z`, as the JSON log writes it.
    static func rfc3339(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// `feedbase_http_requests_in_flight` as `/metrics` reads now.
    static func inFlight(_ port: Int) async throws -> Int {
        let metrics = try await HTTP.request(port: port, "GET", "/metrics")
        let line = metrics.text.split(separator: "\n").first { $0.hasPrefix("feedbase_http_requests_in_flight ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
    }

    @Test func sigtermEndsEachOpenExchangeAsDocumentedAndLosesNoWrite() async throws {
        // Info and JSON: the access lines' times say when each exchange ended, server-side.
        let server = try KilledServer(logging: ["--log-level", "info", "--log-format", "json"])
        defer { server.removeFiles() }
        var served = try await server.start()
        let created = try await HTTP.request(port: served.port, "POST", "/projects", headers: [("Content-Type", "application/json")], body: #"{"name":"one"}"#)
        #expect(created.status == 201 && created.header("X-Change-Seq") == "1")

        let poll = try await HTTPConnection(port: served.port, timeout: .seconds(30))
        try await poll.write("GET", "/_changes?since=1&wait=60")
        let events = try await HTTPConnection(port: served.port, timeout: .seconds(30))
        try await events.write("GET", "/_feed?since=0", headers: [("Accept", "text/event-stream")])
        #expect(try await events.readHead().status == 200)
        var streamed = ""
        while !streamed.contains("id: 1\n") {
            guard let chunk = try await events.nextChunk() else { break }
            streamed += String(decoding: chunk, as: UTF8.self)
        }
        #expect(streamed.contains("id: 1\n"))
        let socket = try await HTTPConnection(port: served.port, timeout: .seconds(30))
        #expect(try await socket.upgradeToWebSocket("/_feed?since=0").status == 101)
        var ready = false
        while !ready {
            let frame = try await socket.nextFrame()
            ready = frame.opcode == 1 && frame.text.contains(#""type":"ready""#)
        }
        // The write waits for the lock another program holds; the lock goes after the signal.
        let other = try Connection(path: server.database)
        try other.execute("BEGIN IMMEDIATE")
        let writer = try await HTTPConnection(port: served.port, timeout: .seconds(30))
        try await writer.write(
            "POST", "/projects", headers: [("Content-Type", "application/json"), ("X-Request-Id", "in-flight")], body: Array(#"{"name":"in flight"}"#.utf8))
        // Both are in the server, unanswered (with the scrape: three), before the signal: a
        // request still in the socket's buffer when the stop begins is never read, and its
        // connection closes unanswered, as on any server that quiesces.
        let deadline = ContinuousClock.now + .seconds(30)
        while try await Self.inFlight(served.port) < 3 {
            guard ContinuousClock.now < deadline else { throw HTTPTestClientError(message: "the long-poll and the write never both reached the server") }
            try await Task.sleep(for: .milliseconds(10))
        }

        let signalled = ContinuousClock.now
        server.signal(SIGTERM)
        try other.execute("ROLLBACK")
        async let pollEnded = { () async throws -> (HTTPResponse, Duration) in
            let response = try await poll.readResponse()
            return (response, ContinuousClock.now - signalled)
        }()
        async let streamEnded = { () async throws -> (String, Duration) in
            var rest = ""
            while let chunk = try await events.nextChunk() { rest += String(decoding: chunk, as: UTF8.self) }
            return (rest, ContinuousClock.now - signalled)
        }()
        async let socketEnded = { () async throws -> (Int?, Duration) in
            while true {
                let frame = try await socket.nextFrame()
                if frame.opcode == 8 { return (frame.closeCode, ContinuousClock.now - signalled) }
            }
        }()
        async let writeEnded = { () async throws -> (HTTPResponse?, Duration) in
            let response = try? await writer.readResponse()
            return (response, ContinuousClock.now - signalled)
        }()
        let (polled, pollTook) = try await pollEnded
        let (rest, streamTook) = try await streamEnded
        let (closeCode, socketTook) = try await socketEnded
        let (written, writeTook) = try await writeEnded
        // What each had when the stop came: nothing new, or the waiting write's event if it
        // committed first (the lock goes right after the signal), and nothing else.
        #expect(
            polled.status == 200 && (polled.text == #"{"changes":[],"last_seq":1}"# || (polled.text.contains(#""seq":2"#) && polled.text.contains("in flight"))),
            "\(polled.text)")
        #expect(pollTook < Self.prompt, "the long-poll answered \(pollTook) after SIGTERM")
        #expect(!rest.contains("event: change") || (rest.contains("id: 2\n") && !rest.contains("id: 3\n")), "\(rest)")
        #expect(streamTook < Self.prompt, "the event stream ended \(streamTook) after SIGTERM")
        #expect(closeCode == 1001)
        #expect(socketTook < Self.prompt, "the WebSocket closed \(socketTook) after SIGTERM")
        #expect(writeTook < Self.prompt, "the write ended \(writeTook) after SIGTERM")
        let (status, log) = try await server.exited()
        #expect(status == 0 && log.contains("stopped"), "\(log)")
        // Within a second of the stop beginning, by the server's own clock (the client-side bounds
        // above also count this test's scheduling on a loaded machine): the long-poll's answer,
        // the stream's and the WebSocket's ends, and the write's answer.
        let lines = AccessLogTests.lines(log)
        func time(_ predicate: (String) -> Bool) -> Date? {
            lines.first { predicate($0["message"] as? String ?? "") }.flatMap { Self.rfc3339($0["time"] as? String ?? "") }
        }
        let writeAnswered = lines.first { $0["request-id"] as? String == "in-flight" }.flatMap { Self.rfc3339($0["time"] as? String ?? "") }
        let stopping = try #require(time { $0 == "stopping" })
        let ends = [
            ("the long-poll", time { $0.hasPrefix("GET /_changes?since=1&wait=60 200") }),
            ("the event stream", time { $0.hasPrefix("GET /_feed?since=0 stream ended") }),
            ("the WebSocket", time { $0.hasPrefix("GET /_feed?since=0 websocket ended") }),
            ("the write", writeAnswered),
        ]
        for (what, end) in ends {
            guard let ended = end else {
                Issue.record("\(what): no access line in \(log)")
                continue
            }
            #expect(ended.timeIntervalSince(stopping) < 1, "\(what) ended \(ended.timeIntervalSince(stopping)) s after the stop began")
        }

        // Acknowledged (201) and kept with its event, or refused and absent: never in between.
        served = try await server.start()
        let listed = try await HTTP.request(port: served.port, "GET", "/projects?name=eq.in%20flight")
        let changes = try await HTTP.request(port: served.port, "GET", "/_changes?since=1")
        if written?.status == 201 {
            #expect(listed.text.contains("in flight") && changes.text.contains("in flight"), "\(listed.text) \(changes.text)")
        } else {
            #expect(listed.text == "[]" && !changes.text.contains("in flight"), "\(String(describing: written?.status)) \(listed.text)")
        }
        try await server.stop()
    }
}
