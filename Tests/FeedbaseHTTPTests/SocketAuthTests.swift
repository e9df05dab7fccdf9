// A WebSocket's credential replaced in place (`{"type":"auth","token":"..."}`): a refreshed
// credential of the same identity keeps every band with no gap, another identity ends the bands
// it reads otherwise (`ended`, with the problem when it may not read them at all), a refused token
// leaves the socket as it was, the firehose is judged again (4403), and the new credential's
// expiry is the one that ends the socket.

import FeedbaseApp
import FeedbaseAuth
import FeedbaseHTTP
import Foundation
import Testing

@Suite struct SocketAuthTests {
    static let rules = """
        allow read on docs to anon where level=eq.0
        allow read on docs to user where owner=eq.$sub
        allow * on docs to admin
        """

    static func start(_ engine: Engine, _ body: (TestServer) async throws -> Void) async throws {
        let rules = try AccessRules.parse(Self.rules, file: "rules.conf")
        let directory = FileManager.default.temporaryDirectory.path
        var failure: (any Error)?
        try await withServer(engine, schema: AccessFeedTests.schema, progressInterval: .milliseconds(20), configure: { configuration in
            configuration.rules = rules
            do { try TestJWT.configure(&configuration, directory: directory) } catch { failure = error }
        }) { server in
            if let failure { throw failure }
            try await body(server)
        }
    }

    /// A `mode=bands` socket opened with `token`.
    static func socket(_ server: TestServer, token: String, timeout: Duration = .seconds(20)) async throws -> WebSocketFollower {
        let connection = try await HTTPConnection(port: server.port, timeout: timeout)
        #expect(try await connection.upgradeToWebSocket("/_feed?mode=bands", headers: [("Authorization", "Bearer " + token)]).status == 101)
        return WebSocketFollower(connection: connection)
    }

    /// Subscribes `id` to `url` from now, and reads on to its `ready`; the band's name.
    static func subscribe(_ socket: WebSocketFollower, _ id: String, _ url: String) async throws -> String {
        try await socket.send(["type": "subscribe", "id": id, "url": url])
        var band = ""
        while true {
            let message = try await socket.nextJSON()
            if message["type"] as? String == "subscribed" { band = message["band"] as? String ?? "" }
            if message["type"] as? String == "ready" { return band }
            if message["type"] as? String == "error" { throw HTTPTestClientError(message: "subscribe refused: \(message)") }
        }
    }

    /// Reads messages (skipping `progress`) until one satisfies `last`; all of them, in order.
    static func read(_ socket: WebSocketFollower, until last: ([String: Any]) -> Bool) async throws -> [[String: Any]] {
        var messages: [[String: Any]] = []
        while true {
            let message = try await socket.nextJSON()
            if message["type"] as? String == "progress" { continue }
            messages.append(message)
            if last(message) { return messages }
        }
    }

    static func seq(_ response: HTTPResponse) -> Int { Int(response.header("X-Change-Seq") ?? "") ?? -1 }

    @Test(arguments: Engine.available)
    func aRefreshedCredentialKeepsTheBandsWithoutAGapAndAnotherIdentityEndsThem(engine: Engine) async throws {
        try await Self.start(engine) { server in
            let admin = try await server.bearer(role: "admin")
            func write(_ json: String) async throws -> Int {
                let response = try await server.request("POST", "/docs", headers: admin, json: json)
                #expect(response.status == 201)
                return Self.seq(response)
            }
            let socket = try await Self.socket(server, token: try await server.apiKey(role: "user", subject: "alice"))
            defer { socket.close() }
            let mine = try await Self.subscribe(socket, "mine", "/docs?select=id,title")
            let alpha = try await Self.subscribe(socket, "alpha", "/docs?title=eq.alpha")

            // A fresh key, then a JWT, of alice: writes go on meanwhile, and each band gets every one of them once.
            var expected: [Int] = []
            expected.append(try await write(#"{"owner":"alice","title":"alpha"}"#))
            try await socket.send(["type": "auth", "token": try await server.apiKey(role: "user", subject: "alice")])
            expected.append(try await write(#"{"owner":"alice","title":"alpha"}"#))
            _ = try await write(#"{"owner":"bob","title":"alpha"}"#)  // not alice's: for neither band
            try await socket.send(["type": "auth", "token": try TestJWT.es256(TestJWT.claims(role: "user", subject: "alice"))])
            expected.append(try await write(#"{"owner":"alice","title":"alpha"}"#))
            // Until both answers and the last write on both bands are in.
            var messages: [[String: Any]] = []
            var answers = 0
            var last: Set<String> = []
            while answers < 2 || last.count < 2 {
                let message = try await socket.nextJSON()
                if message["type"] as? String == "progress" { continue }
                messages.append(message)
                if message["type"] as? String == "authenticated" { answers += 1 }
                if message["seq"] as? Int == expected.last, message["op"] != nil, let band = message["band"] as? String { last.insert(band) }
            }
            #expect(messages.filter { $0["type"] as? String == "authenticated" }.count == 2, "\(messages)")
            #expect(!messages.contains { $0["type"] as? String == "ended" || $0["type"] as? String == "error" }, "\(messages)")
            for band in [mine, alpha] {
                #expect(messages.filter { $0["band"] as? String == band && $0["op"] != nil }.compactMap { $0["seq"] as? Int } == expected, "\(band): \(messages)")
            }

            // Bob: alice's read rule no longer applies, so both bands end (no problem: bob reads docs, other rows).
            try await socket.send(["type": "auth", "token": try await server.apiKey(role: "user", subject: "bob")])
            messages = try await Self.read(socket) { $0["type"] as? String == "authenticated" }
            let ended = messages.filter { $0["type"] as? String == "ended" }
            #expect(Set(ended.compactMap { $0["id"] as? String }) == ["mine", "alpha"], "\(messages)")
            #expect(ended.allSatisfy { $0["problem"] == nil })
            let bobs = try await Self.subscribe(socket, "bobs", "/docs")
            _ = try await write(#"{"owner":"alice","title":"alpha"}"#)  // nobody's on this socket now
            let bobsWrite = try await write(#"{"owner":"bob","title":"beta"}"#)
            messages = try await Self.read(socket) { $0["op"] != nil }
            #expect(messages.count == 1 && messages[0]["band"] as? String == bobs && messages[0]["seq"] as? Int == bobsWrite, "\(messages)")

            // A refused token: 401, and the socket is bob's as before.
            try await socket.send(["type": "auth", "token": "fbk_" + String(repeating: "x", count: 43)])
            messages = try await Self.read(socket) { $0["type"] as? String == "error" }
            let problem = messages.last?["problem"] as? [String: Any]
            #expect(messages.last?["id"] is NSNull && problem?["status"] as? Int == 401, "\(messages)")
            let again = try await write(#"{"owner":"bob","title":"gamma"}"#)
            messages = try await Self.read(socket) { $0["op"] != nil }
            #expect(messages.last?["seq"] as? Int == again && messages.last?["band"] as? String == bobs)

            // A role that may not read docs: the band ends with the problem the listing would answer.
            try await socket.send(["type": "auth", "token": try await server.apiKey(role: "guest", subject: "gil")])
            messages = try await Self.read(socket) { $0["type"] as? String == "authenticated" }
            let end = try #require(messages.first { $0["type"] as? String == "ended" }, "\(messages)")
            #expect(end["id"] as? String == "bobs" && end["band"] as? String == bobs)
            #expect((end["problem"] as? [String: Any])?["status"] as? Int == 403, "\(end)")
            let listing = try await server.request("GET", "/docs", headers: [("Authorization", "Bearer " + (try await server.apiKey(role: "guest")))])
            #expect(listing.status == 403)
        }
    }

}

/// SQLite only: what they hold is the HTTP layer's (the firehose's judgement, the credential
/// watch), and a suite apart keeps them out of CI's PostgreSQL pass, which runs the suites of
/// files holding per-engine tests by name.
@Suite struct InBandCredentialTests {
    @Test func aFirehoseSocketWhoseNewIdentityMayNotReadItClosesWith4403AndTheSeqToResumeFrom() async throws {
        try await SocketAuthTests.start(.sqlite) { server in
            let admin = try await server.bearer(role: "admin")
            let written = SocketAuthTests.seq(try await server.request("POST", "/docs", headers: admin, json: #"{"owner":"alice","title":"t"}"#))
            let connection = try await HTTPConnection(port: server.port, timeout: .seconds(60))
            defer { connection.close() }
            #expect(try await connection.upgradeToWebSocket("/_feed?since=0", headers: admin).status == 101)
            let socket = WebSocketFollower(connection: connection)
            _ = try await SocketAuthTests.read(socket) { $0["type"] as? String == "ready" }
            // Another admin: the firehose goes on.
            try await socket.send(["type": "auth", "token": try await server.apiKey(role: "admin")])
            _ = try await SocketAuthTests.read(socket) { $0["type"] as? String == "authenticated" }
            try await socket.send(["type": "auth", "token": try await server.apiKey(role: "user", subject: "alice")])
            var close: HTTPConnection.Frame?
            while close == nil {
                let frame = try await connection.nextFrame()
                if frame.opcode == 8 { close = frame }
            }
            #expect(close?.closeCode == 4403)
            #expect(close.map { String(decoding: $0.payload.dropFirst(2), as: UTF8.self) }?.contains("since=\(written)") == true, "\(close?.text ?? "")")
        }
    }

    @Test func theNewCredentialsExpiryEndsTheSocketAndTheOldOnesNoLonger() async throws {
        try await SocketAuthTests.start(.sqlite) { server in
            let admin = try await server.bearer(role: "admin")
            // Opened with a JWT that expires in 45 s (time to subscribe and authenticate again while
            // CI's first pass starts hundreds of servers at once on two cores: 6 s and then 20 s
            // were not), then given a key that does not expire: the socket outlives the JWT. The
            // socket's reads wait up to 60 s, past each expiry.
            let expiry = TestJWT.now + 45
            let socket = try await SocketAuthTests.socket(
                server, token: try TestJWT.es256(TestJWT.claims(role: "user", subject: "alice", ["exp": expiry])), timeout: .seconds(60))
            defer { socket.close() }
            let band = try await SocketAuthTests.subscribe(socket, "mine", "/docs")
            try await socket.send(["type": "auth", "token": try await server.apiKey(role: "user", subject: "alice")])
            _ = try await SocketAuthTests.read(socket) { $0["type"] as? String == "authenticated" }
            // Past the JWT's expiry (and its timer's 10 ms): the socket still delivers.
            while TestJWT.now <= expiry + 1 { try await Task.sleep(for: .milliseconds(100)) }
            let written = SocketAuthTests.seq(try await server.request("POST", "/docs", headers: admin, json: #"{"owner":"alice","title":"late"}"#))
            let messages = try await SocketAuthTests.read(socket) { $0["op"] != nil }
            #expect(messages.last?["seq"] as? Int == written && messages.last?["band"] as? String == band)

            // Now a JWT that expires in 20 s replaces the key (it must still be valid when the server
            // reads it): its expiry closes the socket with 4401.
            try await socket.send(["type": "auth", "token": try TestJWT.es256(TestJWT.claims(role: "user", subject: "alice", ["exp": TestJWT.now + 20]))])
            _ = try await SocketAuthTests.read(socket) { $0["type"] as? String == "authenticated" }
            var close: HTTPConnection.Frame?
            while close == nil {
                let frame = try await socket.connection.nextFrame()
                if frame.opcode == 8 { close = frame }
            }
            #expect(close?.closeCode == 4401)
        }
    }
}
