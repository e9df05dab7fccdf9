// Credentials over time, end to end: expiries however far (a key for the year 2400 or 9999, a
// JWT whose `exp` is 1e300) neither crash the server nor end a stream; a tiny rate limit answers
// a bounded Retry-After; a long-poll whose key is revoked or whose token expires while it waits
// answers 401, not the change; a key made a moment ago (not yet in the server's memory) works at
// once, and made-up keys share bounded look-ups. On both engines (each keeps the keys in its own
// table, and feeds the long-poll from its own log), but the rate limit: the HTTP layer's.

import FeedbaseApp
import FeedbaseAuth
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct CredentialLifeTests {
    static let year2400: Int64 = 13_569_465_600

    /// Waits (bounded) until `condition` holds.
    static func waitUntil(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw HTTPTestClientError(message: "timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// A follower on `transport`; long-polls with a patient client, since on two loaded cores a
    /// page of `wait=5` may take longer than the shared follower's 10 s to come back.
    static func follow(_ transport: BandTransport, port: Int, since: Int, headers: [(String, String)]) async throws -> any BandFollower {
        guard transport == .changes else { return try await transport.follow(port: port, collection: "notes", query: "", since: since, headers: headers) }
        return LongPollFollower(port: port, since: since, headers: headers)
    }

    /// `GET /_changes/notes?since=N&wait=5`, page after page, with a 60 s client timeout.
    final class LongPollFollower: BandFollower {
        let port: Int
        let headers: [(String, String)]
        private var since: Int
        private var pending: [(kind: String, seq: Int, data: [String: Any])] = []

        init(port: Int, since: Int, headers: [(String, String)]) {
            self.port = port
            self.since = since
            self.headers = headers
        }

        func next() async throws -> (kind: String, seq: Int, data: [String: Any]) {
            while pending.isEmpty {
                let connection = try await HTTPConnection(port: port, timeout: .seconds(60))
                defer { connection.close() }
                let page = try await connection.request("GET", "/_changes/notes?since=\(since)&limit=7&wait=5", headers: headers)
                guard page.status == 200, let object = try JSONSerialization.jsonObject(with: Data(page.body)) as? [String: Any],
                    let changes = object["changes"] as? [[String: Any]], let last = object["last_seq"] as? Int
                else { throw HTTPTestClientError(message: "page: \(page.status) \(page.text)") }
                for change in changes { pending.append(("change", change["seq"] as? Int ?? -1, change)) }
                if last > since || !changes.isEmpty { pending.append(("progress", last, ["seq": last])) }
                since = last
            }
            return pending.removeFirst()
        }

        func close() {}
    }

    static func head(_ server: TestServer, _ admin: [(String, String)]) async throws -> Int {
        try #require(Int(try await server.request("GET", "/notes?limit=1", headers: admin).header("X-Change-Seq") ?? ""))
    }

    @Test(arguments: Engine.available)
    func farFutureExpiriesNeitherCrashTheServerNorEndAStream(engine: Engine) async throws {
        try await AccessMatrixTests.start(engine) { server in
            let admin = try await server.bearer(role: "admin")
            var credentials: [(String, [(String, String)])] = []
            for expiry in [Self.year2400, RFC3339.latest, Int64.max] {
                credentials.append(("a key expiring at \(expiry)", try await server.bearer(role: "user", subject: "alice", expiresAt: expiry)))
            }
            for exp: Any in [Self.year2400, 1e18, 1e300] {
                let token = try TestJWT.es256(TestJWT.claims(role: "user", subject: "alice", ["exp": exp]))
                credentials.append(("a JWT with exp \(exp)", [("Authorization", "Bearer " + token)]))
            }
            for (name, headers) in credentials {
                let since = try await Self.head(server, admin)
                var followers: [(BandTransport, any BandFollower)] = []
                for transport in BandTransport.allCases {
                    followers.append((transport, try await Self.follow(transport, port: server.port, since: since, headers: headers)))
                }
                let created = try await server.request("POST", "/notes", headers: admin, json: #"{"owner":"alice","title":"far"}"#)
                #expect(created.status == 201, "\(name)")
                let seq = try #require(Int(created.header("X-Change-Seq") ?? ""))
                for (transport, follower) in followers {
                    var received: [String] = []
                    while true {
                        let message = try await follower.next()
                        received.append(message.kind)
                        if message.kind == "change" || message.kind == "unauthorized" || received.count > 10 { break }
                    }
                    #expect(received.last == "change", "\(name) over \(transport): \(received)")
                    follower.close()
                }
                #expect(try await server.request("GET", "/notes", headers: headers).status == 200, "\(name): the server lives (seq \(seq))")
            }
        }
    }

    @Test func aTinyRateLimitAnswersABoundedRetryAfter() async throws {
        try await withServer(sql: AccessMatrixTests.sql, configure: { $0.rateLimit = (1e-19, 1) }) { server in
            #expect(try await server.request("GET", "/notes").status == 200)
            let second = try await server.request("GET", "/notes")
            #expect(second.status == 429)
            #expect(second.header("Retry-After") == "86400")
            #expect(try await server.request("GET", "/notes").status == 429)
        }
    }

    /// A long-poll on `path` with `headers`, then `end` (a revocation, an expiry) while it
    /// waits, then a change it would show: the answer must be a 401, not the change.
    static func longPollAnswers401(_ server: TestServer, _ path: String, headers: [(String, String)], end: () async throws -> Void) async throws {
        let admin = try await server.bearer(role: "admin")
        let since = try await head(server, admin)
        let hub = try #require(server.hub)
        let waiting = await hub.waitingCount
        let port = server.port
        let answered = Atomic(false)
        let poll = Task {
            defer { answered.store(true, ordering: .relaxed) }
            // A patient client: two loaded cores may take a while past the wait.
            let connection = try await HTTPConnection(port: port, timeout: .seconds(60))
            defer { connection.close() }
            return try await connection.request("GET", "\(path)?since=\(since)&wait=20", headers: headers)
        }
        // Waiting; or, on a slow machine, already refused (a token that expired first).
        try await waitUntil("the long-poll waits") { await hub.waitingCount > waiting || answered.load(ordering: .relaxed) }
        try await end()
        #expect(try await server.request("POST", "/notes", headers: admin, json: #"{"owner":"alice","title":"after"}"#).status == 201)
        let answer = try await poll.value
        #expect(answer.status == 401, "\(path): \(answer.status) \(answer.text)")
        #expect(answer.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
        #expect(!answer.text.contains("after"))
    }

    @Test(arguments: Engine.available, ["/_changes", "/_changes/notes"])
    func aLongPollWhoseKeyIsRevokedWhileItWaitsAnswers401(engine: Engine, path: String) async throws {
        try await AccessMatrixTests.start(engine) { server in
            let token = try await server.apiKey(role: path == "/_changes" ? "admin" : "user", subject: "alice")
            try await Self.longPollAnswers401(server, path, headers: [("Authorization", "Bearer " + token)]) {
                let revoked = try await server.revokeAPIKey(token: token)
                #expect(revoked)
                await server.app.reloadKeys()
            }
        }
    }

    @Test(arguments: Engine.available, ["/_changes", "/_changes/notes"])
    func aLongPollWhoseTokenExpiresWhileItWaitsAnswers401(engine: Engine, path: String) async throws {
        try await AccessMatrixTests.start(engine) { server in
            let exp = TestJWT.now + 3
            let token = try TestJWT.hs256(TestJWT.claims(role: path == "/_changes" ? "admin" : "user", subject: "alice", ["exp": exp]))
            try await Self.longPollAnswers401(server, path, headers: [("Authorization", "Bearer " + token)]) {
                try await Self.waitUntil("the token expired") { TestJWT.now > exp }
            }
        }
    }

    @Test(arguments: Engine.available)
    func aKeyMadeByAnotherProcessWorksAtOnce(engine: Engine) async throws {
        let rules = try AccessRules.parse(AccessMatrixTests.rules, file: "rules.conf")
        try await withServer(engine, schema: AccessMatrixTests.schema, configure: {
            $0.rules = rules
            $0.keyRefreshInterval = .seconds(3600)  // only a look-up can find the new key
        }) { server in
            // `feedbase keys create --db` names the server's file, or its PostgreSQL database.
            let db = server.postgres?.url ?? server.database
            for round in 0..<3 {
                let made = try await ChildProcess.run(
                    try feedbaseBinary().path, ["keys", "create", "--db", db, "--role", "admin"],
                    environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FEEDBASE_") })
                #expect(made.status == 0, "\(made.stderr)")
                let token = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                let auth = [("Authorization", "Bearer " + token)]
                #expect(try await server.request("GET", "/notes", headers: auth).status == 200, "round \(round)")
                // The WebSocket upgrade and an SSE stream find it too.
                let connection = try await HTTPConnection(port: server.port)
                #expect(try await connection.upgradeToWebSocket("/_feed", headers: auth).status == 101)
                connection.close()
            }
            // Made-up keys are refused, and many at once share the look-ups.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await server.request("GET", "/notes", headers: [("Authorization", "Bearer " + APIKeyToken.generate())]).status }
                }
                for try await status in group { #expect(status == 401) }
            }
        }
    }
}
