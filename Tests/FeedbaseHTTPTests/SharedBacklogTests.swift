// Several backlogs on one WebSocket: each band's backlog goes at the pace the socket takes it
// (one page at a time, when the previous one has left), so a reader that keeps up is never cut
// off as slow, however large the backlogs and however small the feed buffer. Randomized over
// many seeds: the number of bands, their filters, the size and number of items, the buffer, and
// whether the subscriptions are sent at once or one after another's first messages. Server-Sent
// Events are paced the same way.

import FeedbaseTestSupport
import Foundation
import Testing

/// A `mode=bands` socket holding several bands, read message by message.
private final class BandSocket {
    let connection: HTTPConnection
    /// Band name → subscription id, from the `subscribed` answers.
    var ids: [String: String] = [:]
    /// Per subscription id: the copy its messages build, and whether its `ready` came.
    var copies: [String: [String: String]] = [:]
    var ready: Set<String> = []

    init(port: Int) async throws {
        connection = try await HTTPConnection(port: port, timeout: .seconds(30))
        let head = try await connection.upgradeToWebSocket("/_feed?mode=bands")
        guard head.status == 101 else { throw HTTPTestClientError(message: "upgrade refused: \(head.status)") }
    }

    func subscribe(id: String, url: String, since: Int) async throws {
        let message: [String: Any] = ["type": "subscribe", "id": id, "url": url, "since": since]
        try await connection.sendFrame(opcode: 1, payload: Array(try JSONSerialization.data(withJSONObject: message)))
    }

    /// Reads one message and applies it; a close frame (4408) is an error.
    func readOne() async throws {
        let frame = try await connection.nextFrame()
        if frame.opcode == 9 || frame.opcode == 10 { return }
        guard frame.opcode == 1 else { throw HTTPTestClientError(message: "closed: \(frame.closeCode ?? 0) \(frame.text)") }
        let message = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any] ?? [:]
        switch message["type"] as? String {
        case "subscribed":
            let id = message["id"] as? String ?? ""
            ids[message["band"] as? String ?? ""] = id
            copies[id] = copies[id] ?? [:]
        case "ready":
            ready.insert(message["id"] as? String ?? "")
        case "progress":
            break
        case nil:
            guard let id = ids[message["band"] as? String ?? ""] else { throw HTTPTestClientError(message: "a message of an unknown band: \(message)") }
            let key = message["id"] as? String ?? ""
            switch message["op"] as? String {
            case "create", "enter", "update": copies[id, default: [:]][key] = try canonical(message["item"] ?? NSNull())
            default: copies[id, default: [:]][key] = nil
            }
        default:
            throw HTTPTestClientError(message: "unexpected \(message)")
        }
    }
}

@Suite struct SharedBacklogTests {
    /// Rows written by the sqlite3 shell (psql) in one transaction: `count` tasks of project 1
    /// with priorities 1 to 5 and tags of about `tagBytes` bytes.
    private func fill(_ server: TestServer, count: Int, tagBytes: Int) async throws {
        _ = try await server.request("POST", "/projects", json: #"{"name":"p"}"#)
        let hexDigits = 2 * max(1, tagBytes / 2)
        try await server.foreignWrite(EngineSQL(
            sqlite: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count))
                INSERT INTO tasks (project_id, title, priority, done, tags)
                SELECT 1, 'task ' || i, 1 + i % 5, i % 3 = 0, json_array(hex(randomblob(\(max(1, tagBytes / 2))))) FROM n
                """,
            postgres: """
                INSERT INTO tasks (project_id, title, priority, done, tags)
                SELECT 1, 'task ' || i, 1 + i % 5, i % 3 = 0,
                    jsonb_build_array(left(repeat(md5(i::text || random()::text), \(hexDigits / 32 + 1)), \(hexDigits)))
                FROM generate_series(1, \(count)) AS i
                """))
    }

    /// Reads until every subscription is ready, then compares each copy with its listing.
    private func readAndCompare(_ socket: BandSocket, _ server: TestServer, urls: [String: String], context: String) async throws {
        for _ in 0..<1_000_000 where socket.ready.count < urls.count { try await socket.readOne() }
        #expect(socket.ready.count == urls.count, "\(context)")
        for (id, url) in urls {
            let listing = try await listingByID(server, url)
            #expect(socket.copies[id] == listing, "\(context): \(url) has \(socket.copies[id]?.count ?? -1) of \(listing.count)")
        }
    }

    @Test(arguments: Engine.available) func twoBacklogsOfLargeItemsOnOneSocketReachAReaderThatKeepsUp(engine: Engine) async throws {
        try await withServer(engine) { server in
            try await fill(server, count: 3000, tagBytes: 2048)
            let socket = try await BandSocket(port: server.port)
            let urls = ["one": "/tasks?priority=gte.1", "two": "/tasks?priority=gte.2"]
            for id in ["one", "two"] { try await socket.subscribe(id: id, url: urls[id] ?? "", since: 0) }
            try await readAndCompare(socket, server, urls: urls, context: "3000 tasks, two bands")
            #expect(socket.copies["one"]?.count == 3000)
            socket.connection.close()
        }
    }

    /// The same pacing on Server-Sent Events: a backlog many times the feed buffer reaches a
    /// reader that keeps up, whole, instead of ending with `overflow`.
    @Test(arguments: Engine.available) func aBacklogManyTimesTheBufferReachesAnEventStreamReader(engine: Engine) async throws {
        try await withServer(engine, feedBuffer: 16 << 10, ringCapacity: 8) { server in
            try await fill(server, count: 1200, tagBytes: 2048)
            let follower = try await EventStreamFollower(port: server.port, collection: "tasks", query: "priority=gte.1&select=id,tags", since: 0)
            var copy: [String: String] = [:]
            while true {
                let message = try await follower.next()
                if message.kind == "ready" { break }
                #expect(message.kind == "change", "\(message.kind) \(message.data)")
                copy[message.data["id"] as? String ?? ""] = try canonical(message.data["item"] ?? NSNull())
            }
            #expect(copy == (try await listingByID(server, "/tasks?priority=gte.1&select=id,tags")) && copy.count == 1200)
            follower.close()
        }
    }

    @Test(arguments: Engine.available, 1...8)
    func severalBacklogsOnOneSocketAreEachPacedAndComplete(engine: Engine, seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let pool = [
            "/tasks?priority=gte.1", "/tasks?priority=gte.2&select=id,tags", "/tasks?done=is.false", "/tasks?project_id=eq.1&select=id,title,tags",
            "/tasks?or=(priority.eq.1,done.is.true)", "/tasks?title=like.*1*", "/tasks?priority=in.(2,4)&done=is.false",
        ]
        let buffer = [16 << 10, 64 << 10, 256 << 10].randomElement(using: &random) ?? (64 << 10)
        try await withServer(engine, feedBuffer: buffer, ringCapacity: Int.random(in: 2...64, using: &random)) { server in
            let count = Int.random(in: 200...900, using: &random)
            let tagBytes = Int.random(in: 200...4000, using: &random)
            try await fill(server, count: count, tagBytes: tagBytes)
            let chosen = Array(pool.shuffled(using: &random).prefix(Int.random(in: 2...5, using: &random)))
            let urls = Dictionary(uniqueKeysWithValues: chosen.enumerated().map { ("b\($0.offset)", $0.element) })
            let socket = try await BandSocket(port: server.port)
            let staggered = Bool.random(using: &random)
            for (offset, url) in chosen.enumerated() {
                try await socket.subscribe(id: "b\(offset)", url: url, since: 0)
                // Staggered: the next subscription lands while the earlier backlogs are being sent.
                if staggered {
                    for _ in 0..<Int.random(in: 1...50, using: &random) where socket.ready.count <= offset { try await socket.readOne() }
                }
            }
            let context = "seed \(seed): \(count) tasks of \(tagBytes) bytes, buffer \(buffer), staggered \(staggered), \(chosen)"
            try await readAndCompare(socket, server, urls: urls, context: context)
            socket.connection.close()
        }
    }
}
