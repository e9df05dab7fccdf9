// Browsers and abuse: CORS preflights and headers, the security headers on every response, and
// per-identity rate limits with 429 and Retry-After, end to end.

import FeedbaseApp
import FeedbaseHTTP
import Foundation
import Testing

@Suite struct CrossOriginAndRateTests {
    @Test func aPreflightFromAnAllowedOriginIsAnsweredWithoutCredentials() async throws {
        let rules = try AccessRules.parse("allow read on tasks to user", file: "rules.conf")
        let configure: (inout AppConfiguration) -> Void = { configuration in
            configuration.crossOrigin = CrossOriginPolicy(origins: ["https://app.example"])
            configuration.rules = rules
        }
        try await withServer(configure: configure) { server in
            let preflight = try await server.request("OPTIONS", "/tasks/1", headers: [
                ("Origin", "https://app.example"), ("Access-Control-Request-Method", "PATCH"),
                ("Access-Control-Request-Headers", "authorization, content-type"),
            ])
            #expect(preflight.status == 204)
            #expect(preflight.header("Access-Control-Allow-Origin") == "https://app.example")
            #expect(preflight.header("Access-Control-Allow-Methods")?.contains("PATCH") == true)
            #expect(preflight.header("Access-Control-Allow-Headers")?.contains("Authorization") == true)
            #expect(preflight.header("Access-Control-Allow-Credentials") == nil)
            #expect(preflight.header("Vary") == "Origin")

            let other = try await server.request("OPTIONS", "/tasks", headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "GET")])
            #expect(other.status == 403)
            #expect(other.header("Access-Control-Allow-Origin") == nil)

            // An actual request: the answer (here a 401) is readable by the allowed origin, with
            // the headers a client needs exposed.
            let answer = try await server.request("GET", "/tasks", headers: [("Origin", "https://app.example")])
            #expect(answer.status == 401)
            #expect(answer.header("Access-Control-Allow-Origin") == "https://app.example")
            #expect(answer.header("Access-Control-Expose-Headers")?.contains("X-Change-Seq") == true)
            #expect(answer.header("Access-Control-Expose-Headers")?.contains("WWW-Authenticate") == true)
            let foreign = try await server.request("GET", "/tasks", headers: [("Origin", "https://evil.example")])
            #expect(foreign.header("Access-Control-Allow-Origin") == nil)
        }
    }

    @Test func anyOriginIsAllowedWithAStar() async throws {
        try await withServer(configure: { $0.crossOrigin = CrossOriginPolicy(origins: ["*"]) }) { server in
            let answer = try await server.request("GET", "/tasks", headers: [("Origin", "https://anywhere.example")])
            #expect(answer.status == 200)
            #expect(answer.header("Access-Control-Allow-Origin") == "*")
            #expect(answer.header("Vary") == nil)
        }
    }

    @Test func everyResponseCarriesTheSecurityHeaders() async throws {
        try await withServer { server in
            for (method, path) in [("GET", "/tasks"), ("GET", "/nowhere"), ("POST", "/tasks"), ("GET", "/openapi.json")] {
                let response = try await server.request(method, path)
                #expect(response.header("X-Content-Type-Options") == "nosniff", "\(method) \(path)")
                #expect(response.header("X-Frame-Options") == "DENY")
                #expect(response.header("Content-Security-Policy") == "default-src 'none'; frame-ancestors 'none'")
                #expect(response.header("Referrer-Policy") == "no-referrer")
            }
            // A request that is not HTTP at all still gets them with its 400.
            let connection = try await HTTPConnection(port: server.port)
            defer { connection.close() }
            try await connection.send(Array("BLAH\r\n\r\n".utf8))
            let bad = try await connection.readResponse()
            #expect(bad.status == 400)
            #expect(bad.header("X-Content-Type-Options") == "nosniff")
        }
    }

    @Test func anIdentityPastItsRateGets429WithRetryAfterAndOthersDoNot() async throws {
        // One request per 1,000 s after a burst of 3: no refill can come between the requests
        // below, however slow the machine (one per 20 s could, in CI's first pass).
        try await withServer(configure: { $0.rateLimit = (rate: 0.001, burst: 3) }) { server in
            var statuses: [Int] = []
            for _ in 0..<4 { statuses.append(try await server.request("GET", "/tasks").status) }
            #expect(statuses == [200, 200, 200, 429])
            let limited = try await server.request("GET", "/tasks")
            #expect(limited.status == 429)
            #expect(limited.header("Retry-After").flatMap(Int.init).map { (1...1000).contains($0) } == true)
            #expect(limited.header("Content-Type") == "application/problem+json")
            // Another identity (an API key) has a bucket of its own.
            let key = try await server.bearer(role: "admin")
            for _ in 0..<3 { #expect(try await server.request("GET", "/tasks", headers: key).status == 200) }
            #expect(try await server.request("GET", "/tasks", headers: key).status == 429)
            // A WebSocket upgrade draws on the same bucket: refused, it is answered 429.
            let connection = try await HTTPConnection(port: server.port)
            defer { connection.close() }
            #expect(try await connection.upgradeToWebSocket("/_feed", headers: key).status == 429)
        }
    }

    @Test func messagesOnASocketDrawOnTheSameRateAsRequests() async throws {
        // One message per 1,000 s after a burst of 3: no refill comes during the test, however
        // loaded the machine (one per 20 s did, once, in CI's first pass).
        try await withServer(configure: { $0.rateLimit = (rate: 0.001, burst: 3) }) { server in
            // The upgrade takes one of three; two subscribes the next two; the third message,
            // an auth, is refused with 429 before its token is looked at, and the socket stays.
            let connection = try await HTTPConnection(port: server.port)
            defer { connection.close() }
            #expect(try await connection.upgradeToWebSocket("/_feed?mode=bands").status == 101)
            let socket = WebSocketFollower(connection: connection)
            for id in ["a", "b"] {
                try await socket.send(["type": "subscribe", "id": id, "url": "/tasks?done=is.\(id == "a")"])
                while try await socket.nextJSON()["type"] as? String != "ready" {}
            }
            try await socket.send(["type": "auth", "token": "fbk_not-a-key"])
            let refused = try await socket.nextJSON()
            let problem = refused["problem"] as? [String: Any]
            #expect(refused["type"] as? String == "error" && problem?["status"] as? Int == 429, "\(refused)")
            #expect((problem?["detail"] as? String)?.contains("too many messages") == true, "\(refused)")
            try await socket.send(["type": "unsubscribe", "id": "a"])
            let again = try await socket.nextJSON()
            #expect(again["type"] as? String == "error" && again["id"] as? String == "a", "\(again)")
            // A request of the same client (anonymous: its address) draws on the same bucket.
            #expect(try await server.request("POST", "/projects", json: #"{"name":"p"}"#).status == 429)
        }
    }
}
