// The change feed end to end: the events each mutation path gives, X-Change-Seq snapshots,
// resuming over /_changes, Server-Sent Events and WebSocket under concurrent writers, and
// --no-feed. Pressure (slow consumers, pruning, resets) is in FeedPressureTests.

@testable import FeedbaseHTTP
import FeedbaseModel
import FeedbaseSQLite
import FeedbaseTestSupport
import Foundation
import NIOCore
import NIOWebSocket
import Testing

/// One parsed change event.
struct FeedMessage: Equatable, CustomStringConvertible {
    var seq: Int
    var collection: String
    var op: String
    var id: String
    var item: [String: Any]

    init(json: [UInt8]) throws {
        guard let object = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
            let seq = object["seq"] as? Int, let collection = object["collection"] as? String,
            let op = object["op"] as? String, let id = object["id"] as? String, let item = object["item"] as? [String: Any],
            object["at"] is String
        else { throw HTTPTestClientError(message: "not a change event: \(String(decoding: json, as: UTF8.self))") }
        self.seq = seq
        self.collection = collection
        self.op = op
        self.id = id
        self.item = item
    }

    static func == (a: FeedMessage, b: FeedMessage) -> Bool { a.seq == b.seq && a.op == b.op && a.id == b.id && a.collection == b.collection }
    var description: String { "\(seq) \(op) \(collection)/\(id)" }
}

/// Reads `/_changes` from `since` until `count` events have come (bounded by long-polls).
func changes(_ server: TestServer, since: Int, count: Int, query: String = "") async throws -> [FeedMessage] {
    var events: [FeedMessage] = []
    var cursor = since
    for _ in 0..<200 where events.count < count {
        let response = try await server.request("GET", "/_changes?since=\(cursor)&limit=1000&wait=2" + query)
        guard response.status == 200 else { throw HTTPTestClientError(message: response.text) }
        let body = try object(response)
        let page = body["changes"] as? [[String: Any]] ?? []
        for change in page {
            events.append(try FeedMessage(json: Array(try JSONSerialization.data(withJSONObject: change))))
        }
        cursor = body["last_seq"] as? Int ?? cursor
        if page.isEmpty { break }  // a long-poll that found nothing: there is no more
    }
    return events
}

@Suite struct FeedTests {
    @Test(arguments: Engine.available) func everyMutationPathGivesExactlyItsEvents(engine: Engine) async throws {
        try await withServer(engine) { server in
            let seq = { (response: HTTPResponse) in Int(response.header("X-Change-Seq") ?? "") ?? -1 }
            #expect(seq(try await server.request("GET", "/projects")) == 0)
            let one = try await server.request("POST", "/projects", json: #"{"name":"one"}"#)
            #expect(seq(one) == 1)
            let many = try await server.request("POST", "/projects", json: #"[{"name":"two"},{"name":"three"}]"#)
            #expect(seq(many) == 3)
            #expect(seq(try await server.request("PUT", "/projects/9", json: #"{"name":"nine"}"#)) == 4)
            #expect(seq(try await server.request("PUT", "/projects/9", json: #"{"name":"nine!"}"#)) == 5)
            #expect(seq(try await server.request("PATCH", "/projects/1", json: #"{"archived":true}"#)) == 6)
            #expect(seq(try await server.request("PATCH", "/projects/1", json: #"{"archived":true}"#)) == 6)  // no change, no event
            #expect(seq(try await server.request("DELETE", "/projects/2")) == 7)
            #expect(try await server.request("POST", "/projects", json: #"{"name":"one"}"#).status == 409)  // a failed write: no event
            // A write by another program: the sqlite3 shell, or psql. SQLite assigns max + 1;
            // PostgreSQL's identity would assign its sequence's next value (docs/POSTGRES.md,
            // "Known differences"), so psql names the key SQLite would have given.
            try await server.foreignWrite(EngineSQL(
                sqlite: "INSERT INTO projects (name) VALUES ('external')", postgres: "INSERT INTO projects (id, name) VALUES (10, 'external')"))

            let events = try await changes(server, since: 0, count: 8)
            #expect(events.map(\.description) == [
                "1 create projects/1", "2 create projects/2", "3 create projects/3", "4 create projects/9",
                "5 update projects/9", "6 update projects/1", "7 delete projects/2", "8 create projects/10",
            ])
            #expect(events[4].item["name"] as? String == "nine!")
            #expect(events[6].item["name"] as? String == "two")  // a delete carries the item as it was
            #expect(events[5].item["archived"] as? Bool == true)
            #expect(try await changes(server, since: 0, count: 1, query: "&collections=tasks").isEmpty)
        }
    }

    @Test(arguments: Engine.available) func aSnapshotPlusTheEventsAfterItRebuildsTheTable(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: "[" + (0..<50).map { #"{"name":"p\#($0)"}"# }.joined(separator: ",") + "]")
            let writers = Task {
                for index in 0..<150 {
                    switch index % 3 {
                    case 0: _ = try await server.request("POST", "/projects", json: #"{"name":"new\#(index)"}"#)
                    case 1: _ = try await server.request("PATCH", "/projects/\(index % 50 + 1)", json: #"{"description":"d\#(index)"}"#)
                    default: _ = try await server.request("DELETE", "/projects/\(index % 50 + 1)")
                    }
                }
            }
            let page = try await server.request("GET", "/projects?limit=1000")
            let since = try #require(Int(page.header("X-Change-Seq") ?? ""))
            var table: [String: String] = [:]
            for item in try array(page) { table["\(item["id"] ?? "")"] = String(decoding: try JSONSerialization.data(withJSONObject: item, options: .sortedKeys), as: UTF8.self) }
            try await writers.value
            let head = try #require(Int(try await server.request("GET", "/projects?limit=1").header("X-Change-Seq") ?? ""))
            for event in try await changes(server, since: since, count: head - since) {
                table[event.id] = event.op == "delete" ? nil : String(decoding: try JSONSerialization.data(withJSONObject: event.item, options: .sortedKeys), as: UTF8.self)
            }
            let now = try array(try await server.request("GET", "/projects?limit=1000"))
            var expected: [String: String] = [:]
            for item in now { expected["\(item["id"] ?? "")"] = String(decoding: try JSONSerialization.data(withJSONObject: item, options: .sortedKeys), as: UTF8.self) }
            #expect(table == expected)
        }
    }

    @Test(arguments: Engine.available) func resumingOverChangesMissesNothingUnderConcurrentWriters(engine: Engine) async throws {
        try await withServer(engine) { server in
            let writers = (0..<4).map { writer in
                Task {
                    for index in 0..<250 { _ = try await server.request("POST", "/projects", json: #"{"name":"w\#(writer)-\#(index)"}"#) }
                }
            }
            // A reader that stops after every few events and resumes from the last seq it saw.
            var seen: [Int] = []
            var cursor = 0
            while seen.count < 1000 {
                let got = try await changes(server, since: cursor, count: 1)
                let taken = got.prefix(7)
                seen += taken.map(\.seq)
                cursor = taken.last?.seq ?? cursor
            }
            for writer in writers { try await writer.value }
            #expect(seen == Array(1...1000))
        }
    }

    @Test(arguments: Engine.available) func serverSentEventsResumeWithLastEventID(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: "[" + (0..<30).map { #"{"name":"p\#($0)"}"# }.joined(separator: ",") + "]")
            let writer = Task {
                for index in 0..<60 { _ = try await server.request("POST", "/projects", json: #"{"name":"live\#(index)"}"#) }
            }
            var seen: [Int] = []
            var lastEventID = 0
            for _ in 0..<20 where seen.count < 90 {
                let connection = try await HTTPConnection(port: server.port)
                try await connection.write("GET", "/_feed", headers: [("Accept", "text/event-stream"), ("Last-Event-ID", String(lastEventID))])
                let head = try await connection.readHead()
                #expect(head.status == 200 && head.header("Content-Type")?.hasPrefix("text/event-stream") == true)
                var text = ""
                var taken = 0
                // Take up to 13 events from this connection, then drop it and resume.
                reading: while taken < 13 && seen.count < 90 {
                    guard let chunk = try await connection.nextChunk() else { break }
                    text += String(decoding: chunk, as: UTF8.self)
                    while let end = text.range(of: "\n\n") {
                        let message = String(text[..<end.lowerBound])
                        text = String(text[end.upperBound...])
                        let fields = Dictionary(message.split(separator: "\n").compactMap { line -> (String, String)? in
                            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { return nil }
                            return (String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " }))
                        }, uniquingKeysWith: { $1 })
                        guard fields["event"] == "change", let id = fields["id"].flatMap(Int.init) else { continue }
                        let event = try FeedMessage(json: Array((fields["data"] ?? "").utf8))
                        #expect(event.seq == id)
                        seen.append(id)
                        lastEventID = id
                        taken += 1
                        if taken == 13 || seen.count == 90 { break reading }
                    }
                }
                connection.close()
            }
            try await writer.value
            #expect(seen == Array(1...90), "\(seen)")
        }
    }

    @Test(arguments: Engine.available) func webSocketBacklogThenReadyThenLiveWithoutGapOrDuplicate(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: "[" + (0..<40).map { #"{"name":"p\#($0)"}"# }.joined(separator: ",") + "]")
            // Four writers, two thousand creates, while three subscribers drop and resume.
            let writers = (0..<4).map { writer in
                Task {
                    for index in 0..<500 { _ = try await server.request("POST", "/projects", json: #"{"name":"w\#(writer)-\#(index)"}"#) }
                }
            }
            let total = 2040
            let results = try await withThrowingTaskGroup(of: ([Int], Int).self) { group in
                for subscriber in 0..<3 {
                    group.addTask {
                        var seen: [Int] = []
                        var since = 0
                        var readies = 0
                        // Each session is dropped after a few events and resumed with since.
                        for round in 0..<2000 where seen.count < total {
                            let connection = try await HTTPConnection(port: server.port)
                            let upgrade = try await connection.upgradeToWebSocket("/_feed?since=\(since)&collections=projects")
                            guard upgrade.status == 101 else { throw HTTPTestClientError(message: "upgrade: \(upgrade.status)") }
                            var taken = 0
                            while taken < 5 + (round * (subscriber + 3)) % 61 && seen.count < total {
                                let frame = try await connection.nextFrame()
                                guard frame.opcode == 1 else { continue }
                                if frame.text.contains(#""type":"ready""#) {
                                    readies += 1
                                    continue
                                }
                                let event = try FeedMessage(json: frame.payload)
                                seen.append(event.seq)
                                since = event.seq
                                taken += 1
                            }
                            connection.close()
                        }
                        // Whether a session caught up while the writers wrote is a matter of
                        // timing; at the head (every write seen) a resumed session is live at once,
                        // so its first message is ready.
                        let atHead = try await HTTPConnection(port: server.port)
                        defer { atHead.close() }
                        let upgrade = try await atHead.upgradeToWebSocket("/_feed?since=\(since)&collections=projects")
                        guard upgrade.status == 101 else { throw HTTPTestClientError(message: "upgrade: \(upgrade.status)") }
                        while true {
                            let frame = try await atHead.nextFrame()
                            guard frame.opcode == 1 else { continue }
                            if frame.text.contains(#""type":"ready""#) { readies += 1 }
                            break
                        }
                        return (seen, readies)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for writer in writers { try await writer.value }
            for (seen, readies) in results {
                #expect(seen == Array(1...total))
                #expect(readies > 0)
            }
        }
    }

    @Test(arguments: Engine.available) func webSocketRefusalsPingsAndClose(engine: Engine) async throws {
        try await withServer(engine) { server in
            let unknown = try await HTTPConnection(port: server.port)
            let refused = try await unknown.upgradeToWebSocket("/_feed?collections=nope")
            #expect(refused.status == 404)
            let connection = try await HTTPConnection(port: server.port)
            #expect(try await connection.upgradeToWebSocket("/_feed").status == 101)
            try await connection.sendFrame(opcode: 9, payload: Array("hi".utf8))
            // The pong and the ready message may come in either order.
            let frames = [try await connection.nextFrame(), try await connection.nextFrame()]
            #expect(frames.contains { $0.opcode == 1 && $0.text == #"{"type":"ready","seq":0}"# })
            #expect(frames.contains { $0.opcode == 10 && $0.text == "hi" })
            try await connection.sendFrame(opcode: 8, payload: [0x03, 0xE8])
            let close = try await connection.nextFrame()
            #expect(close.closeCode == 1000)
            #expect(await connection.isClosedByPeer(within: .seconds(5)))
        }
    }

    /// `--no-feed`: no feed routes, no X-Change-Seq. On SQLite nothing is logged; on PostgreSQL
    /// the log is the schema's triggers, shared by every node, so the write is logged for the
    /// nodes that serve the feed (docs/POSTGRES.md).
    @Test(arguments: Engine.available) func withoutTheFeedRESTIsUnchanged(engine: Engine) async throws {
        try await withServer(engine, feed: false) { server in
            let created = try await server.request("POST", "/projects", json: #"{"name":"quiet"}"#)
            #expect(created.status == 201 && created.header("X-Change-Seq") == nil)
            #expect(try await server.request("GET", "/_changes").status == 404)
            #expect(try await server.request("GET", "/_feed", headers: [("Accept", "text/event-stream")]).status == 404)
            #expect(try await server.request("GET", "/_feed", headers: [("Upgrade", "websocket")]).status == 404)
            let openapi = try await server.request("GET", "/openapi.json")
            #expect(openapi.status == 200 && !openapi.text.contains("/_changes"))
            let batch = try await server.resources.changes(after: 0, collections: nil, limit: 10, maxBytes: 1 << 20)
            #expect(batch.events.count == (engine == .postgres ? 1 : 0))
        }
    }

    /// `since` is the client's, up to Int64.max: checking it against the oldest event kept must
    /// not overflow (`since + 1`), for /_changes and for Server-Sent Events alike.
    @Test(arguments: Engine.available) func theLargestSinceIsAnswerNotACrash(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"one"}"#)
            let top = try await server.request("GET", "/_changes?since=9223372036854775807")
            #expect(top.status == 200 && top.text == #"{"changes":[],"last_seq":1}"#, "\(top.text)")
            let ahead = try await server.request("GET", "/_feed?since=9223372036854775807", headers: [("Accept", "text/event-stream")])
            let errors = try object(ahead)["errors"] as? [[String: Any]]
            #expect(ahead.status == 400 && errors?.first?["parameter"] as? String == "since")
            #expect(try await server.request("GET", "/_changes?since=9223372036854775808").status == 400)
            #expect(try await server.request("GET", "/_changes?since=0").status == 200)
        }
    }
}
