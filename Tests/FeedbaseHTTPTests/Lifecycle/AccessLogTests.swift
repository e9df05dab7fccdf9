// The access log of the real binary with `--log-format json`: every line one JSON object; a line
// per request with the client's address, the identity, status, bytes, duration and request id;
// a line per ended stream (SSE and WebSocket alike) with its deliveries and how it ended; the
// WebSocket's upgrade logged like any request; the rules file named at start.

import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct AccessLogTests {
    @Test func jsonLinesSayWhoAskedWhatWentOverTheWireAndHowStreamsEnded() async throws {
        let (directory, _) = try TestServer.scratch(sql: nil)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rules = directory + "/rules.conf"
        try "allow read, create, update, delete on * to anon\nallow read on * to user\n".write(toFile: rules, atomically: true, encoding: .utf8)
        let server = try ChildProcess(try feedbaseBinary().path, [
            "serve", "--port", "0", "--db", directory + "/log.sqlite", "--migrations", TestServer.shippedMigrations, "--rules", rules,
            "--log-format", "json", "--jwt-secret", TestJWT.secret,
        ], directory: directory, environment: CredentialBinaryTests.environment)
        defer { if server.isRunning { server.signal(SIGKILL) } }
        var port: Int?
        try await CredentialLifeTests.waitUntil("the server listens") {
            guard server.isRunning else { throw HTTPTestClientError(message: "the server exited: \(server.stderr)") }
            port = Self.lines(server.stderr).first { ($0["message"] as? String)?.hasPrefix("listening on http://127.0.0.1:") == true }
                .flatMap { ($0["message"] as? String)?.split(separator: ":").last.flatMap { Int($0) } }
            return port != nil
        }
        let listening = try #require(port)

        let created = try await HTTP.request(
            port: listening, "POST", "/projects", headers: [("Content-Type", "application/json"), ("X-Request-Id", "made-1")], body: #"{"name":"logged"}"#)
        #expect(created.status == 201)
        let jwt = try TestJWT.hs256(["role": "user", "sub": "alice", "exp": Date().timeIntervalSince1970 + 600])
        let read = try await HTTP.request(port: listening, "GET", "/projects", headers: [("Authorization", "Bearer " + jwt), ("X-Request-Id", "read-1")])
        #expect(read.status == 200)
        // A stream the client leaves after its first event.
        let events = try await HTTPConnection(port: listening)
        try await events.write("GET", "/_feed?since=0&access_token=" + jwt, headers: [("Accept", "text/event-stream"), ("X-Request-Id", "sse-1")])
        #expect(try await events.readHead().status == 200)
        var streamed = ""
        while !streamed.contains("event: change") {
            guard let chunk = try await events.nextChunk() else { break }
            streamed += String(decoding: chunk, as: UTF8.self)
        }
        events.close()
        // A WebSocket the client closes after its first event.
        let socket = try await HTTPConnection(port: listening)
        #expect(try await socket.upgradeToWebSocket("/_feed?since=0", headers: [("X-Request-Id", "ws-1")]).status == 101)
        var changed = false
        while !changed { changed = try await socket.nextFrame().text.contains(#""seq":1"#) }
        try await socket.sendFrame(opcode: 8, payload: [0x03, 0xE8])
        #expect(await socket.isClosedByPeer(within: .seconds(10)))

        var log: [[String: Any]] = []
        try await CredentialLifeTests.waitUntil("the streams' ends are logged") {
            log = Self.lines(server.stderr)
            return log.filter { ($0["message"] as? String)?.contains(" ended ") == true }.count == 2
        }
        func line(_ requestID: String, _ containing: String) -> [String: Any]? {
            log.first { $0["request-id"] as? String == requestID && ($0["message"] as? String)?.contains(containing) == true }
        }
        let rulesLine = log.first { $0["message"] as? String == "access rules loaded" }
        #expect(rulesLine?["file"] as? String == rules && rulesLine?["rules"] as? String == "2")
        let post = try #require(line("made-1", "POST /projects 201"))
        #expect(post["client"] as? String == "127.0.0.1" && post["role"] as? String == "anon" && post["level"] as? String == "info")
        #expect(Int(post["bytes"] as? String ?? "") == created.body.count && (post["message"] as? String)?.hasSuffix("ms") == true)
        let get = try #require(line("read-1", "GET /projects 200"))
        #expect(get["role"] as? String == "user" && get["sub"] as? String == "alice" && Int(get["bytes"] as? String ?? "") == read.body.count)
        // The token in the stream's URL is never written.
        #expect(!server.stderr.contains(jwt))
        let sseStart = try #require(line("sse-1", "200 stream"))
        #expect((sseStart["message"] as? String)?.contains("access_token=REDACTED") == true && sseStart["sub"] as? String == "alice")
        let sseEnd = try #require(line("sse-1", "stream ended"))
        #expect(sseEnd["events"] as? String == "1" && sseEnd["ended"] as? String == "client closed", "\(sseEnd)")
        #expect(Int(sseEnd["bytes"] as? String ?? "") ?? 0 > 0)
        let upgrade = try #require(line("ws-1", "GET /_feed?since=0 101 websocket"))
        #expect(upgrade["role"] as? String == "anon" && upgrade["client"] as? String == "127.0.0.1")
        let wsEnd = try #require(line("ws-1", "websocket ended"))
        #expect(wsEnd["events"] as? String == "1" && (wsEnd["ended"] as? String)?.hasPrefix("client closed") == true, "\(wsEnd)")
        server.signal(SIGTERM)
        #expect(try await server.exitStatus(timeout: .seconds(20)) == 0)
    }

    /// Every line of `text` as a JSON object (a line that is not one fails the test).
    static func lines(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            return object
        }
    }
}
