// The limits one client meets (docs/API.md, "Limits"), each set low by the test: the answer it
// gets past the limit, and that the server goes on serving everyone else.

import FeedbaseHTTP
import Foundation
import Testing

@Suite struct LimitTests {
    @Test func pastTheConnectionLimitANewConnectionGets503AtOnce() async throws {
        try await withServer(configure: { $0.server.limits.connections = 3 }) { server in
            var held: [HTTPConnection] = []
            for _ in 0..<3 {
                let connection = try await HTTPConnection(port: server.port)
                #expect(try await connection.request("GET", "/_health").status == 200)
                held.append(connection)
            }
            let started = ContinuousClock.now
            let refused = try await HTTPConnection(port: server.port, timeout: .seconds(5))
            let answer = try await refused.readResponse()
            #expect(answer.status == 503 && answer.header("Retry-After") == "1", "\(answer.status) \(answer.text)")
            #expect(answer.text.contains("as many connections as it may"))
            #expect(await refused.isClosedByPeer(within: .seconds(5)))
            // Refused, not queued: a queued connection would get no answer until a slot frees
            // (none does here). Bounded by the read timeout, not by a guess at the machine's speed.
            #expect(ContinuousClock.now - started < .seconds(5), "refused, not queued")
            // The held connections go on; once one closes, a new one is admitted (bounded wait
            // for the server to see the close).
            #expect(try await held[0].request("GET", "/_health").status == 200)
            held.removeLast().close()
            var admitted = false
            for _ in 0..<100 where !admitted {
                let connection = try await HTTPConnection(port: server.port, timeout: .seconds(5))
                admitted = (try? await connection.request("GET", "/_health").status) == 200
                connection.close()
                if !admitted { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(admitted)
            for connection in held { connection.close() }
        }
    }

    @Test func aRequestThatDoesNotArriveInTimeGets408AndTheConnectionCloses() async throws {
        try await withServer(configure: { $0.server.limits.requestTimeout = .seconds(1) }) { server in
            // Slowloris: a byte of the head now and then, each well inside the idle timeout.
            let started = ContinuousClock.now
            let slow = try await HTTPConnection(port: server.port, timeout: .seconds(10))
            var sent = 0
            for byte in Array("GET /projects HTTP/1.1\r\nHost: x\r\nX-Slow: \(String(repeating: "z", count: 200))".utf8) {
                try await slow.send([byte])
                sent += 1
                if await slow.hasInput(within: .milliseconds(100)) { break }
            }
            // Bytes kept coming (far inside the 60 s idle timeout), yet the clock ran out: not
            // before its second, and long before the idle timeout. (How many bytes got out first
            // is the machine's: a test task starved past the second sends just one.)
            #expect(ContinuousClock.now - started >= .seconds(1), "\(sent) bytes")
            let answer = try? await slow.readResponse()
            #expect(answer?.status == 408, "\(String(describing: answer?.status)) \(answer?.text ?? "")")
            #expect(ContinuousClock.now - started < .seconds(30), "long before the 60 s idle timeout")

            // A keep-alive connection quiet between requests is not cut by the request clock,
            // and a stream outlives it.
            let quiet = try await HTTPConnection(port: server.port)
            #expect(try await quiet.request("GET", "/projects").status == 200)
            #expect(await !quiet.isClosedByPeer(within: .milliseconds(1500)))
            #expect(try await quiet.request("GET", "/projects").status == 200)

            let stream = try await EventStreamFollower(port: server.port, collection: "projects", query: "order=id", since: 0)
            defer { stream.close() }
            #expect(try await stream.next().kind == "ready")
            #expect(await !stream.stream.connection.isClosedByPeer(within: .milliseconds(1500)))
            #expect(try await server.request("POST", "/projects", json: #"{"name":"late"}"#).status == 201)
            #expect(try await stream.next().kind == "change")
        }
    }

    @Test func tooManyHeaderFieldsGet431() async throws {
        try await withServer(configure: { $0.server.limits.headerCount = 10 }) { server in
            let connection = try await HTTPConnection(port: server.port)
            let nine = (0..<9).map { ("X-Field-\($0)", "v") }
            #expect(try await connection.request("GET", "/projects", headers: nine).status == 200)
            let answer = try await connection.request("GET", "/projects", headers: nine + [("X-One", "1"), ("X-Two", "2")])
            #expect(answer.status == 431 && answer.text.contains("the limit is 10"), "\(answer.status) \(answer.text)")
            #expect(await connection.isClosedByPeer(within: .seconds(5)))
        }
    }

    @Test func bodiesNestedTooDeeplyGet400AndBulkCreatesPastTheLimit413() async throws {
        try await withServer(configure: {
            $0.server.limits.jsonDepth = 8
            $0.server.limits.bulkItems = 5
        }) { server in
            #expect(try await server.request("POST", "/projects", json: #"{"name":"p"}"#).status == 201)
            func tags(_ depth: Int) -> String { String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth) }
            // The body is level 1: tags nested 7 deep make 8, the limit.
            let atLimit = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"t","tags":\#(tags(7))}"#)
            #expect(atLimit.status == 201, "\(atLimit.text)")
            let deeper = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"t","tags":\#(tags(8))}"#)
            #expect(deeper.status == 400 && deeper.text.contains("deeper than 8 levels"), "\(deeper.status) \(deeper.text)")
            // Brackets inside strings are text, not nesting.
            let inString = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"[[[[[[[[[[[[","tags":"]]]"}"#)
            #expect(inString.status == 201, "\(inString.text)")

            func projects(_ count: Int, from first: Int) -> String {
                "[" + (first..<first + count).map { #"{"name":"bulk \#($0)"}"# }.joined(separator: ",") + "]"
            }
            #expect(try await server.request("POST", "/projects", json: projects(5, from: 0)).status == 201)
            let tooMany = try await server.request("POST", "/projects", json: projects(6, from: 10))
            #expect(tooMany.status == 413 && tooMany.text.contains("holds 6 items; the limit is 5"), "\(tooMany.status) \(tooMany.text)")
            #expect(try array(try await server.request("GET", "/projects?limit=100")).count == 6)
        }
    }

    @Test func aWebSocketMessagePastTheLimitClosesTheSocketWith1009() async throws {
        try await withServer(configure: { $0.server.limits.webSocketMessageBytes = 2048 }) { server in
            let connection = try await HTTPConnection(port: server.port)
            #expect(try await connection.upgradeToWebSocket("/_feed?mode=bands").status == 101)
            let subscribe = #"{"type":"subscribe","id":"a","url":"/projects?name=eq.\#(String(repeating: "x", count: 1900))"}"#
            try await connection.sendFrame(opcode: 1, payload: Array(subscribe.utf8))
            #expect(try await connection.nextFrame().text.contains(#""type":"subscribed""#))
            try await connection.sendFrame(opcode: 1, payload: Array(repeating: 0x20, count: 3000))
            var code: Int?
            for _ in 0..<10 where code == nil {
                let frame = try await connection.nextFrame()
                code = frame.closeCode
            }
            #expect(code == 1009)
            #expect(try await server.request("GET", "/_health").status == 200)
        }
    }
}
