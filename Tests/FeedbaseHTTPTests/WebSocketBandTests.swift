// The band protocol on the WebSocket feed: many bands on one socket told apart by name,
// unsubscribe, per-band progress and reset with the socket going on, every refusal as an error
// message that leaves the socket open, and the limits. The same bands on /_changes/{collection}.

import FeedbaseApp
import Foundation
import Testing

@Suite struct WebSocketBandTests {
    /// Sends a subscribe message and returns the band name from the `subscribed` answer; with
    /// `waitForReady`, reads on to the subscription's `ready`.
    private func subscribe(_ socket: WebSocketFollower, id: String, url: String, since: Int? = nil, waitForReady: Bool = true) async throws -> String {
        var message: [String: Any] = ["type": "subscribe", "id": id, "url": url]
        if let since { message["since"] = since }
        try await socket.send(message)
        let answer = try await socket.nextJSON()
        #expect(answer["type"] as? String == "subscribed" && answer["id"] as? String == id, "\(answer)")
        if waitForReady {
            let ready = try await socket.nextJSON()
            #expect(ready["type"] as? String == "ready" && ready["id"] as? String == id, "\(ready)")
        }
        return answer["band"] as? String ?? ""
    }

    /// The next message that is not `ready` or `progress`.
    private func nextEvent(_ socket: WebSocketFollower) async throws -> [String: Any] {
        while true {
            let message = try await socket.nextJSON()
            if let type = message["type"] as? String, type == "ready" || type == "progress" { continue }
            return message
        }
    }

    private func error(_ socket: WebSocketFollower, _ message: Any) async throws -> (id: String?, status: Int, detail: String) {
        let payload = try message as? String ?? String(decoding: JSONSerialization.data(withJSONObject: message), as: UTF8.self)
        try await socket.connection.sendFrame(opcode: 1, payload: Array(payload.utf8))
        let answer = try await socket.nextJSON()
        #expect(answer["type"] as? String == "error", "\(answer)")
        let problem = answer["problem"] as? [String: Any] ?? [:]
        return (answer["id"] as? String, problem["status"] as? Int ?? 0, problem["detail"] as? String ?? "")
    }

    private func bandSocket(_ server: TestServer) async throws -> WebSocketFollower {
        let connection = try await HTTPConnection(port: server.port, timeout: .seconds(60))
        #expect(try await connection.upgradeToWebSocket("/_feed?mode=bands").status == 101)
        return WebSocketFollower(connection: connection)
    }

    @Test(arguments: Engine.available) func manyBandsOnOneSocketAreToldApartAndOneCanBeLeft(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"one"}"#)
            _ = try await server.request("POST", "/projects", json: #"{"name":"two"}"#)
            let socket = try await bandSocket(server)
            let one = try await subscribe(socket, id: "one", url: "/tasks?project_id=eq.1")
            let two = try await subscribe(socket, id: "two", url: "tasks?project_id=eq.2&select=id,title")
            #expect(one != two && !one.isEmpty)

            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"a"}"#)  // seq 3
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":2,"title":"b"}"#)  // seq 4
            _ = try await server.request("PATCH", "/tasks/1", json: #"{"project_id":2}"#)  // seq 5: leaves one, enters two
            var seen: [String] = []
            while seen.count < 4 {
                let event = try await nextEvent(socket)
                let keys = (event["item"] as? [String: Any])?.keys.sorted() ?? []
                seen.append("\(event["seq"] as? Int ?? 0) \(event["band"] as? String == one ? "one" : "two") \(event["op"] as? String ?? "")"
                    + " \(keys.count > 2 ? "all" : keys.joined(separator: ","))")
            }
            // Within one seq, the messages of different bands come in no set order.
            #expect(seen.sorted() == ["3 one create all", "4 two create id,title", "5 one leave all", "5 two enter id,title"])

            try await socket.send(["type": "unsubscribe", "id": "one"])
            let left = try await socket.nextJSON()
            #expect(left["type"] as? String == "unsubscribed" && left["id"] as? String == "one")
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"c"}"#)  // seq 6: nobody's now
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":2,"title":"d"}"#)  // seq 7
            let next = try await nextEvent(socket)
            #expect(next["seq"] as? Int == 7 && next["band"] as? String == two)
            // The id is free again.
            _ = try await subscribe(socket, id: "one", url: "/tasks?project_id=eq.1")
            socket.close()
        }
    }

    @Test(arguments: Engine.available) func everyRefusalIsAnErrorMessageAndTheSocketGoesOn(engine: Engine) async throws {
        try await withServer(engine, configure: {
            $0.feed.bandsPerConnection = 2
            $0.feed.bandFilters = 2
        }) { server in
            let socket = try await bandSocket(server)
            var tooMany = try await error(socket, ["type": "subscribe", "id": "a", "url": "/tasks?done=is.false&priority=gt.1&priority=lt.4"])
            #expect(tooMany.status == 400 && tooMany.detail.contains("at most 2 filter"))
            let stream = try await server.request("GET", "/tasks?done=is.false&priority=gt.1&priority=lt.4", headers: [("Accept", "text/event-stream")])
            #expect(stream.status == 400)
            tooMany = (nil, try await server.request("GET", "/_changes/tasks?done=is.false&priority=gt.1&priority=lt.4").status, "")
            #expect(tooMany.status == 400)
            var answer = try await error(socket, ["type": "subscribe", "id": "a", "url": "/tasks?priority=gt.high"])
            #expect(answer.id == "a" && answer.status == 400 && answer.detail.contains("priority"))
            answer = try await error(socket, ["type": "subscribe", "id": "a", "url": "/nothing?x=eq.1"])
            #expect(answer.status == 404)
            answer = try await error(socket, ["type": "subscribe", "id": "a", "url": "/tasks?done=is.false", "since": 99])
            #expect(answer.status == 400 && answer.detail.contains("ahead"))
            answer = try await error(socket, "not json")
            #expect(answer.id == nil && answer.status == 400)
            answer = try await error(socket, ["type": "watch", "id": "a"])
            #expect(answer.status == 400)
            answer = try await error(socket, ["type": "subscribe", "id": "a", "url": "/tasks", "filter": "x"])
            #expect(answer.status == 400 && answer.detail.contains("filter"))
            answer = try await error(socket, ["type": "subscribe", "url": "/tasks"])
            #expect(answer.status == 400 && answer.detail.contains("id"))
            answer = try await error(socket, ["type": "unsubscribe", "id": "never"])
            #expect(answer.status == 404)

            _ = try await subscribe(socket, id: "a", url: "/tasks?done=is.false")
            answer = try await error(socket, ["type": "subscribe", "id": "a", "url": "/tasks?done=is.true"])
            #expect(answer.status == 409)
            answer = try await error(socket, ["type": "subscribe", "id": "b", "url": "/tasks?done=is.false"])
            #expect(answer.status == 409 && answer.detail.contains("'a'"))
            _ = try await subscribe(socket, id: "b", url: "/tasks?done=is.true")
            answer = try await error(socket, ["type": "subscribe", "id": "c", "url": "/projects"])
            #expect(answer.status == 400 && answer.detail.contains("at most 2"))
            socket.close()

            // A socket for bands takes no since or collections of its own.
            let refused = try await HTTPConnection(port: server.port)
            #expect(try await refused.upgradeToWebSocket("/_feed?mode=bands&since=0").status == 400)
            refused.close()
        }
    }

    @Test(arguments: Engine.available) func progressAndResetArePerBandAndTheSocketGoesOn(engine: Engine) async throws {
        try await withServer(engine, ringCapacity: 2, progressInterval: .milliseconds(20)) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"p"}"#)
            for index in 0..<4 { _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"t\#(index)"}"#) }
            let socket = try await bandSocket(server)
            let band = try await subscribe(socket, id: "done", url: "/tasks?done=is.true", waitForReady: false)
            let ready = try await socket.nextJSON()
            #expect(ready["type"] as? String == "ready" && ready["seq"] as? Int == 5 && ready["band"] as? String == band)
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"open"}"#)  // seq 6, not in the band
            let progress = try await socket.nextJSON()
            #expect(progress["type"] as? String == "progress" && progress["seq"] as? Int == 6 && progress["id"] as? String == "done")

            // Past a prune, this band is reset; the socket and its other bands go on.
            #expect(try await server.resources.pruneChanges(olderThan: nil, keep: 2) == 4)
            _ = try await subscribe(socket, id: "old", url: "/tasks?done=is.false", since: 1, waitForReady: false)
            let reset = try await socket.nextJSON()
            #expect(reset["type"] as? String == "reset" && reset["id"] as? String == "old" && reset["oldest"] as? Int == 5)
            _ = try await server.request("PATCH", "/tasks/1", json: #"{"done":true}"#)  // seq 7 enters "done"
            let event = try await nextEvent(socket)
            #expect(event["seq"] as? Int == 7 && event["op"] as? String == "enter" && event["band"] as? String == band)
            // The reset id is free again.
            _ = try await subscribe(socket, id: "old", url: "/tasks?done=is.false")
            socket.close()
        }
    }

    @Test(arguments: Engine.available) func theServerFollowsAtMostItsLimitOfDistinctBands(engine: Engine) async throws {
        try await withServer(engine, configure: { $0.feed.hub.maxBands = 1 }) { server in
            let first = try await bandSocket(server)
            _ = try await subscribe(first, id: "a", url: "/tasks?done=is.true")
            // The same band is shared, not counted again.
            let second = try await bandSocket(server)
            _ = try await subscribe(second, id: "a", url: "/tasks?done=is.true")
            let answer = try await error(second, ["type": "subscribe", "id": "b", "url": "/tasks?done=is.false"])
            #expect(answer.status == 503)
            let stream = try await server.request("GET", "/tasks?done=is.false", headers: [("Accept", "text/event-stream")])
            #expect(stream.status == 503 && stream.header("Retry-After") != nil)
            first.close()
            second.close()
        }
    }

    @Test(arguments: Engine.available) func filtersThatReadAlikeAreDifferentBandsAndLeftBandsAreDropped(engine: Engine) async throws {
        try await withServer(engine) { server in
            // Two conditions, and one condition whose value holds "&title=lte.z".
            let socket = try await bandSocket(server)
            let two = try await subscribe(socket, id: "two", url: "/tasks?title=gte.a&title=lte.z")
            let one = try await subscribe(socket, id: "one", url: "/tasks?title=gte.a%26title=lte.z")
            #expect(two != one)
            socket.close()
            // SSE band streams that end leave no band behind in the hub.
            for index in 0..<5 {
                let stream = try await HTTPConnection(port: server.port)
                try await stream.write("GET", "/tasks?id=eq.\(1000 + index)", headers: [("Accept", "text/event-stream")])
                #expect(try await stream.readHead().status == 200)
                stream.close()
            }
            let hub = try #require(server.app.hub)
            let deadline = ContinuousClock.now + .seconds(10)
            while await hub.bandCount > 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(await hub.bandCount == 0)
        }
    }

    @Test(arguments: Engine.available) func changesOfABandPageThroughTheLogAndRefuseWhatTheListingRefuses(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"p"}"#)
            for index in 0..<5 { _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"t\#(index)","done":\#(index % 2 == 0)}"#) }
            let page = try await server.request("GET", "/_changes/tasks?done=is.true&select=title&limit=2")
            #expect(page.status == 200 && page.header("X-Change-Seq") == "6")
            let body = try JSONSerialization.jsonObject(with: Data(page.body)) as? [String: Any] ?? [:]
            let changes = body["changes"] as? [[String: Any]] ?? []
            #expect(changes.map { $0["seq"] as? Int ?? 0 } == [2, 4] && body["last_seq"] as? Int == 4)
            #expect(changes.first?["item"] as? [String: String] == ["title": "t0"])
            let rest = try JSONSerialization.jsonObject(with: Data(try await server.request("GET", "/_changes/tasks?done=is.true&since=4").body)) as? [String: Any]
            #expect((rest?["changes"] as? [[String: Any]])?.map { $0["seq"] as? Int ?? 0 } == [6] && rest?["last_seq"] as? Int == 6)
            #expect(try await server.request("GET", "/_changes/tasks?priority=gt.high").status == 400)
            #expect(try await server.request("GET", "/_changes/nothing").status == 404)
            #expect(try await server.resources.pruneChanges(olderThan: nil, keep: 1) == 5)
            let gone = try await server.request("GET", "/_changes/tasks?done=is.true&since=2")
            #expect(gone.status == 410 && gone.header("Content-Type") == "application/problem+json")
        }
    }
}
