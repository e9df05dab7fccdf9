// The answers a connection's handler gives before a request reaches the API (a body, a head or a
// target past its limit) and the WebSocket handshake's 101 carry the headers every other answer
// does: CORS for an allowed origin, so a browser's page reads the problem instead of a network
// error, and the security headers (docs/API.md, "Browsers and abuse").

import FeedbaseApp
import FeedbaseHTTP
import Foundation
import Testing

@Suite struct RejectionHeadersTests {
    private static let origin = "https://app.example"

    private static func expectCORS(_ answer: HTTPResponse, _ status: Int, allowed: String? = origin, _ what: String) {
        #expect(answer.status == status, "\(what): \(answer.status) \(answer.text)")
        #expect(answer.header("Access-Control-Allow-Origin") == allowed, "\(what)")
        if allowed != nil {
            #expect(answer.header("Access-Control-Expose-Headers")?.contains("X-Request-Id") == true, "\(what)")
        }
        #expect(answer.header("X-Content-Type-Options") == "nosniff", "\(what)")
    }

    @Test func answersPastALimitCarryTheAllowedOrigin() async throws {
        for origins in [[Self.origin], ["https://other.example", Self.origin], ["*"]] {
            let configure: (inout AppConfiguration) -> Void = { configuration in
                configuration.crossOrigin = CrossOriginPolicy(origins: origins)
                configuration.server.limits.headerCount = 10
            }
            try await withServer(maxBodySize: 1000, configure: configure) { server in
                let allowed = origins == ["*"] ? "*" : Self.origin
                let from = [("Origin", Self.origin)]
                // A body past the limit, by its Content-Length.
                let big = try await HTTPConnection(port: server.port)
                defer { big.close() }
                let tooLarge = try await big.request(
                    "POST", "/projects", headers: from + [("Content-Type", "application/json")],
                    body: Array(#"{"name":"\#(String(repeating: "n", count: 2000))"}"#.utf8))
                Self.expectCORS(tooLarge, 413, allowed: allowed, "413 \(origins)")
                // Too many header fields.
                let many = try await HTTPConnection(port: server.port)
                defer { many.close() }
                let fields = try await many.request("GET", "/projects", headers: from + (0..<12).map { ("X-F\($0)", "v") })
                Self.expectCORS(fields, 431, allowed: allowed, "431 count \(origins)")
                // A head or a target past what the decoder reads: the head is never read whole,
                // so its Origin is unknown; `*` or a single allowed origin is still named.
                let unknown = origins.count == 1 ? allowed : nil
                let padded = try await HTTPConnection(port: server.port)
                defer { padded.close() }
                let head = try await padded.request("GET", "/projects", headers: from + [("X-Padding", String(repeating: "p", count: 90_000))])
                Self.expectCORS(head, 431, allowed: unknown, "431 head \(origins)")
                let long = try await HTTPConnection(port: server.port)
                defer { long.close() }
                let target = try await long.request("GET", "/projects?name=eq." + String(repeating: "x", count: 90_000), headers: from)
                Self.expectCORS(target, 414, allowed: unknown, "414 \(origins)")
                // A foreign origin is named nowhere.
                let foreignConnection = try await HTTPConnection(port: server.port)
                defer { foreignConnection.close() }
                if origins != ["*"] {
                    let foreign = try await foreignConnection.request(
                        "POST", "/projects", headers: [("Origin", "https://evil.example"), ("Content-Type", "application/json")],
                        body: Array(#"{"name":"\#(String(repeating: "n", count: 2000))"}"#.utf8))
                    Self.expectCORS(foreign, 413, allowed: nil, "413 foreign \(origins)")
                }
            }
        }
    }

    @Test func theWebSocketHandshakeCarriesTheSecurityHeaders() async throws {
        try await withServer { server in
            let connection = try await HTTPConnection(port: server.port)
            defer { connection.close() }
            let head = try await connection.upgradeToWebSocket("/_feed?since=0")
            #expect(head.status == 101)
            #expect(head.header("X-Content-Type-Options") == "nosniff")
            #expect(head.header("X-Frame-Options") == "DENY")
            #expect(head.header("Content-Security-Policy") == "default-src 'none'; frame-ancestors 'none'")
            #expect(head.header("Referrer-Policy") == "no-referrer")
        }
    }
}
