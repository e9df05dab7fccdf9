// The feed under pressure: the slow-consumer cut-off, heartbeats, pruning and resets, clients
// that leave at once, and frame encoding at every length boundary. What goes through the store
// (backlogs, pruning, writes and prunes by another program) runs on both engines; heartbeats and
// frame encoding are the HTTP layer's and run once.

@testable import FeedbaseHTTP
import FeedbaseModel
import Foundation
import NIOCore
import NIOWebSocket
import Testing

@Suite struct FeedPressureTests {
    /// Another program prunes the log up to `seq` (in the transaction it is part of): SQLite's
    /// `_changes` rows; on PostgreSQL whole commits, as the engine's own pruning removes them
    /// (`_changes` is a view there), each commit's events with it.
    private static func pruneSQL(upTo seq: String) -> EngineSQL {
        EngineSQL(
            sqlite: "DELETE FROM _changes WHERE seq <= \(seq)",
            postgres: """
                DELETE FROM _feedbase_events e USING _feedbase_commits c
                    WHERE e.tx = c.tx AND e.ord BETWEEN c.first_ord AND c.last_ord AND c.last_seq <= \(seq);
                DELETE FROM _feedbase_commits WHERE last_seq <= \(seq)
                """)
    }

    @Test(arguments: Engine.available) func aSubscriberThatStopsReadingIsCutOffWith4408AndOthersKeepUp(engine: Engine) async throws {
        // The slow client reads only after the fast one has seen everything, which may take
        // longer than the 10 s a closing connection gets by default on a loaded machine.
        try await withServer(engine, feedBuffer: 16 * 1024, closeTimeout: .seconds(120)) { server in
            let slow = try await HTTPConnection(port: server.port, timeout: .seconds(60))
            #expect(try await slow.upgradeToWebSocket("/_feed").status == 101)
            let fast = try await HTTPConnection(port: server.port)
            #expect(try await fast.upgradeToWebSocket("/_feed").status == 101)
            #expect(try await slow.nextFrame().text.contains("ready"))
            #expect(try await fast.nextFrame().text.contains("ready"))
            // Enough bytes to fill the slow client's socket buffers and then its 16 KiB queue.
            let filler = String(repeating: "x", count: 8000)
            // In 30 bulk creates of 50 (12 MB of events): the same feed as 1,500 single creates,
            // in a fiftieth of the requests (each a commit, which PostgreSQL pays most for).
            let writer = Task {
                for bulk in 0..<30 {
                    let items = (0..<50).map { #"{"name":"n\#(bulk * 50 + $0)","description":"\#(filler)"}"# }
                    let created = try await server.request("POST", "/projects", json: "[" + items.joined(separator: ",") + "]")
                    #expect(created.status == 201, "\(created.text.prefix(200))")
                }
            }
            // The reading client gets every event in order. On a loaded machine even it may fall
            // 16 KiB behind; then it is cut off too and resumes where the close reason says, as
            // any client would.
            var fastSeen: [Int] = []
            var reader = fast
            for _ in 0..<20_000 where fastSeen.count < 1500 {
                let frame = try await reader.nextFrame()
                if frame.opcode == 1 {
                    if !frame.text.hasPrefix(#"{"type":"#) { fastSeen.append(try FeedMessage(json: frame.payload).seq) }
                } else if frame.opcode == 8 {
                    #expect(frame.closeCode == 4408)
                    let reason = String(decoding: frame.payload.dropFirst(2), as: UTF8.self)
                    let resume = try #require(reason.split(separator: "=").last.flatMap { Int($0) })
                    reader.close()
                    reader = try await HTTPConnection(port: server.port)
                    #expect(try await reader.upgradeToWebSocket("/_feed?since=\(resume)").status == 101)
                }
            }
            #expect(fastSeen == Array(1...1500))
            reader.close()
            try await writer.value
            // The slow one now reads what reached it: events, then a 4408 close naming its resume point.
            var slowSeen: [Int] = []
            var close: HTTPConnection.Frame?
            for _ in 0..<1600 {
                let frame = try await slow.nextFrame()
                if frame.opcode == 8 {
                    close = frame
                    break
                }
                if frame.opcode == 1 { slowSeen.append(try FeedMessage(json: frame.payload).seq) }
            }
            let closing = try #require(close)
            #expect(closing.closeCode == 4408)
            let reason = String(decoding: closing.payload.dropFirst(2), as: UTF8.self)
            let resume = try #require(reason.split(separator: "=").last.flatMap { Int($0) })
            #expect(slowSeen == Array(1...resume).suffix(slowSeen.count) && slowSeen.count < 1500)
            #expect(resume == slowSeen.last ?? 0)
        }
    }

    @Test func idleSubscribersGetHeartbeats() async throws {
        try await withServer(heartbeat: .milliseconds(200)) { server in
            let socket = try await HTTPConnection(port: server.port)
            #expect(try await socket.upgradeToWebSocket("/_feed").status == 101)
            var opcodes: [UInt8] = []
            while !opcodes.contains(9) && opcodes.count < 5 { opcodes.append(try await socket.nextFrame().opcode) }
            #expect(opcodes.contains(9))  // a ping, with nothing else happening
            let stream = try await HTTPConnection(port: server.port)
            try await stream.write("GET", "/_feed", headers: [("Accept", "text/event-stream")])
            #expect(try await stream.readHead().status == 200)
            var text = ""
            for _ in 0..<10 where !text.contains(": ping") {
                guard let chunk = try await stream.nextChunk() else { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            #expect(text.contains(": ping\n\n"))
        }
    }

    @Test(arguments: Engine.available) func pruningTheLogResetsSubscribersThatAreTooFarBehind(engine: Engine) async throws {
        // A ring of two events: a subscriber behind it must read the backlog from the log.
        try await withServer(engine, ringCapacity: 2) { server in
            for index in 0..<5 { _ = try await server.request("POST", "/projects", json: #"{"name":"p\#(index)"}"#) }
            #expect(try await server.resources.pruneChanges(olderThan: nil, keep: 2) == 3)
            let gone = try await server.request("GET", "/_changes?since=1")
            #expect(gone.status == 410 && gone.header("Content-Type") == "application/problem+json")
            #expect(try await server.request("GET", "/_changes?since=3").status == 200)
            #expect(try await server.request("GET", "/_feed?since=1", headers: [("Accept", "text/event-stream")]).status == 410)
            let connection = try await HTTPConnection(port: server.port)
            #expect(try await connection.upgradeToWebSocket("/_feed?since=1").status == 101)
            let reset = try await connection.nextFrame()
            #expect(reset.text == #"{"type":"reset","oldest":4}"#)
            #expect(try await connection.nextFrame().closeCode == 4410)
            // Without since, /_changes starts at the oldest event kept.
            let body = try object(try await server.request("GET", "/_changes"))
            #expect((body["changes"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [4, 5])
        }
    }

    @Test(arguments: Engine.available) func writesAndPrunesTheHubHasNotLoadedYetAreNeitherRefusedNorSkipped(engine: Engine) async throws {
        // Another process writes and prunes: the hub may not have polled the log yet. On
        // PostgreSQL the ticket is taken after the third row (SET CONSTRAINTS ... IMMEDIATE), so
        // events 1 to 3 are a commit of their own that can be pruned whole, as on SQLite by seq.
        try await withServer(engine) { server in
            let prune = Self.pruneSQL(upTo: "3")
            try await server.foreignWrite(EngineSQL(
                sqlite: "INSERT INTO projects (name) VALUES ('a'), ('b'), ('c'), ('d'), ('e'); " + prune.sqlite,
                postgres: "BEGIN; INSERT INTO projects (name) VALUES ('a'), ('b'), ('c'); SET CONSTRAINTS ALL IMMEDIATE; "
                    + "INSERT INTO projects (name) VALUES ('d'), ('e'); " + prune.postgres + "; COMMIT"))
            let current = try await HTTPConnection(port: server.port)
            #expect(try await current.upgradeToWebSocket("/_feed?since=5").status == 101)
            #expect(try await current.nextFrame().text == #"{"type":"ready","seq":5}"#)
            let behind = try await HTTPConnection(port: server.port)
            #expect(try await behind.upgradeToWebSocket("/_feed?since=1").status == 101)
            #expect(try await behind.nextFrame().text == #"{"type":"reset","oldest":4}"#)
            #expect(try await behind.nextFrame().closeCode == 4410)
            _ = try await server.request("POST", "/projects", json: #"{"name":"f"}"#)
            #expect(try FeedMessage(json: try await current.nextFrame().payload).seq == 6)
        }
    }

    /// The subscription's backlog read (a pool connection on PostgreSQL) may still run when the
    /// client is gone.
    @Test(arguments: Engine.available) func clientsThatLeaveRightAfterTheUpgradeLeaveNoSubscriptionBehind(engine: Engine) async throws {
        try await withServer(engine) { server in
            let upgrade = "GET /_feed?since=0 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            for _ in 0..<100 {
                let connection = try await HTTPConnection(port: server.port)
                try await connection.send(Array(upgrade.utf8))
                connection.close()
            }
            // Once the server has seen every one of those connections close, no subscription is
            // left and none can come after: a subscribe that lands late finds its sink gone.
            // Bounded by time.
            let hub = try #require(server.hub)
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let subscribers = await hub.subscriberCount
                if server.app.server.openConnectionCount == 0 && subscribers == 0 { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(server.app.server.openConnectionCount == 0)
            #expect(await hub.subscriberCount == 0)
        }
    }

    @Test(arguments: Engine.available) func readyFollowsABacklogPageLargerThanTheFeedBuffer(engine: Engine) async throws {
        try await withServer(engine, feedBuffer: 4096) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"big","description":"\#(String(repeating: "x", count: 6000))"}"#)
            for _ in 0..<3 {
                let connection = try await HTTPConnection(port: server.port)
                #expect(try await connection.upgradeToWebSocket("/_feed?since=0").status == 101)
                #expect(try FeedMessage(json: try await connection.nextFrame().payload).seq == 1)
                #expect(try await connection.nextFrame().text == #"{"type":"ready","seq":1}"#)
                connection.close()
            }
        }
    }

    @Test(arguments: Engine.available) func aResetComesAfterEverythingQueuedAndNothingFollowsTheCloseFrame(engine: Engine) async throws {
        try await withServer(engine, feedBuffer: 64 << 20) { server in
            let slow = try await HTTPConnection(port: server.port, timeout: .seconds(60))
            #expect(try await slow.upgradeToWebSocket("/_feed").status == 101)
            #expect(try await slow.nextFrame().text.contains("ready"))
            // The client stops reading while events pile up behind its socket.
            let filler = String(repeating: "x", count: 16000)
            for index in 0..<300 {
                _ = try await server.request("POST", "/projects", json: #"{"name":"n\#(index)","description":"\#(filler)"}"#)
            }
            // Another process writes and prunes past the hub's head in one transaction (the
            // server's poll may come at any time); the hub sees the gap. On PostgreSQL each row
            // takes its ticket at once, so 'b' (302) is a commit of its own, kept, and 'a' (301)
            // goes with everything before it.
            let prune = Self.pruneSQL(upTo: "301")
            try await server.foreignWrite(EngineSQL(
                sqlite: "BEGIN; INSERT INTO projects (name) VALUES ('a'), ('b'); DELETE FROM _changes WHERE seq < (SELECT max(seq) FROM _changes); COMMIT",
                postgres: "BEGIN; INSERT INTO projects (name) VALUES ('a'); SET CONSTRAINTS ALL IMMEDIATE; "
                    + "INSERT INTO projects (name) VALUES ('b'); SET CONSTRAINTS ALL IMMEDIATE; " + prune.postgres + "; COMMIT"))
            _ = try await server.request("POST", "/projects", json: #"{"name":"poke"}"#)
            var seqs: [Int] = []
            var reset: String?
            var closeCode: Int?
            var afterClose = 0
            for _ in 0..<1000 {
                guard let frame = try? await slow.nextFrame() else { break }
                if closeCode != nil {
                    afterClose += 1
                } else if frame.opcode == 8 {
                    closeCode = frame.closeCode
                } else if frame.text.contains(#""type":"reset""#) {
                    reset = frame.text
                } else if frame.opcode == 1 {
                    #expect(reset == nil, "an event after the reset message")
                    seqs.append(try FeedMessage(json: frame.payload).seq)
                }
            }
            #expect(!seqs.isEmpty && seqs == Array(1...seqs.count))
            #expect(reset == #"{"type":"reset","oldest":302}"#)
            #expect(closeCode == 4410 && afterClose == 0)
        }
    }

    @Test func textFramesHaveRFC6455HeadersAtEveryLengthBoundary() {
        for (count, header) in [
            (0, [0x81, 0]), (125, [0x81, 125]), (126, [0x81, 126, 0, 126]), (65535, [0x81, 126, 0xFF, 0xFF]),
            (65536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] as [(Int, [UInt8])] {
            var buffer = ByteBuffer()
            buffer.writeWebSocketTextFrame([UInt8](repeating: 0x61, count: count))
            #expect(Array(buffer.readableBytesView.prefix(header.count)) == header, "\(count)")
            #expect(buffer.readableBytes == header.count + count)
        }
        var close = ByteBuffer()
        close.writeWebSocketCloseFrame(code: WebSocketErrorCode(codeNumber: 4408), reason: String(repeating: "é", count: 100))
        #expect(close.readableBytes == 2 + 2 + 122)  // 61 two-byte characters fit in 123 bytes
        #expect(Array(close.readableBytesView.prefix(4)) == [0x88, 124, 0x11, 0x38])
    }

    @Test(arguments: Engine.available) func pruningByAgeRemovesAPrefixEvenWhenTheClockSteppedBack(engine: Engine) async throws {
        try await withServer(engine) { server in
            for index in 0..<4 { _ = try await server.request("POST", "/projects", json: #"{"name":"p\#(index)"}"#) }
            // Events 1 and 3 look old, 2 and 4 new: as if the clock stepped back between commits.
            try await server.foreignWrite(EngineSQL(
                sqlite: "UPDATE _changes SET at = '2000-01-01T00:00:00.000Z' WHERE seq IN (1, 3)",
                postgres: "UPDATE _feedbase_events e SET at = '2000-01-01T00:00:00.000Z' FROM _feedbase_commits c "
                    + "WHERE e.tx = c.tx AND e.ord BETWEEN c.first_ord AND c.last_ord AND c.last_seq - c.last_ord + e.ord IN (1, 3)"))
            #expect(try await server.resources.pruneChanges(olderThan: .seconds(86_400), keep: nil) == 3)
            // Event 2 went with them: a reader after 1 is told it missed events, never handed 4 after 1.
            #expect(try await server.request("GET", "/_changes?since=1").status == 410)
            let body = try object(try await server.request("GET", "/_changes?since=3"))
            #expect((body["changes"] as? [[String: Any]])?.compactMap { $0["seq"] as? Int } == [4])
        }
    }
}
