// PostgreSQL restarted under load: three nodes with writers on each, a firehose on each (SSE on
// two, WebSocket on one); again and again the server is stopped (fast or immediate shutdown,
// seeded) and started again on the same data directory and port. While it is down every node
// answers 503 promptly (a listing and a write: never a hang, never a 500, no SQL in the answer);
// afterwards the nodes recover by themselves (no restart of theirs); every acknowledged write has
// exactly one event in a gap-free log (an immediate shutdown loses nothing acknowledged: commits
// are synchronous); each firehose, resumed with its last seq should its stream end, is exactly
// the log; replaying the log gives the table.
//
// Its own PostgreSQL cluster (PostgresCluster.startDedicated): the shared one serves the other
// tests of the process. Seeded: FEEDBASE_NODES_SEED runs one seed of your choice; every failure
// names its seed.

import FeedbaseTestSupport
import Foundation
import Testing

extension NodeSuites {
    @Suite(
        .serialized, .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason ?? "PostgreSQL is available")))
    struct NodeRestartTests {
        /// How long a request may take while the database is down: a 503 is prompt (the nodes wait
        /// for a connection 5 s at most, 0.5 s once they know of the outage), a hang is not.
        static let downAnswerBound: Duration = .seconds(7)

        @Test(arguments: nodeSeeds)
        func restartedPostgreSQLIsAnswered503AndTheNodesRecoverLosingNothing(seed: UInt64) async throws {
            let cluster = try await PostgresCluster.startDedicated()
            let database = try await cluster.createDatabase()
            let nodes = try await ServedNode.startThree(database: database)
            do {
                try await Self.run(seed: seed, nodes: nodes, cluster: cluster)
            } catch {
                Issue.record(error, "seed \(seed)")
                for node in nodes { print("seed \(seed): node \(node.name)'s log ends:\n\(node.process.stderr.suffix(3000))") }
            }
            for node in nodes {
                #expect(try await node.stop() == 0, "seed \(seed): node \(node.name) did not stop cleanly")
                #expect(node.crashes.isEmpty, "seed \(seed): node \(node.name): \(node.crashes)")
            }
            try await cluster.shutDown()
        }

        private static func run(seed: UInt64, nodes: [ServedNode], cluster: PostgresCluster) async throws {
            var random = SeededGenerator(seed: seed)
            let context = "seed \(seed)"
            let project = try await HTTP.request(port: nodes[0].port, "POST", "/projects", headers: [("Content-Type", "application/json")], body: #"{"name":"restart"}"#)
            let projectID = try #require((try? JSONSerialization.jsonObject(with: Data(project.body)) as? [String: Any])?["id"] as? Int, "\(context): \(project.text)")
            let since = try #require(Int(try await HTTP.request(port: nodes[0].port, "GET", "/tasks?limit=1").header("X-Change-Seq") ?? ""))
            var feeds: [any Firehose] = []
            for (index, node) in nodes.enumerated() {
                feeds.append(index == 1 ? try await WebSocketFirehose(port: node.port, since: since) : try await ServerSentFirehose(port: node.port, since: since))
            }

            // Both shutdown modes each time, in a seeded order, and one more of either.
            var modes = PostgresCluster.Shutdown.allCases + [PostgresCluster.Shutdown.allCases.randomElement(using: &random) ?? .fast]
            modes.shuffle(using: &random)
            let ledger = FaultLedger()
            for (round, mode) in modes.enumerated() {
                let writers = nodes.indices.map { index in
                    let writer = FaultWriter(
                        label: "writer \(nodes[index].name) round \(round)", seed: seed &* 31 &+ UInt64(round * nodes.count + index), projectID: projectID,
                        ledger: ledger)
                    return Task { await writer.run(ports: [nodes[index].port], writes: 30) }
                }
                let target = ledger.acknowledgedCount + Int.random(in: 5...25, using: &random)
                let deadline = ContinuousClock.now + .seconds(30)
                while ledger.acknowledgedCount < target && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
                try await cluster.stop(mode)
                // Down: every node answers promptly, and only 503 where it needs the database.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for node in nodes {
                        group.addTask { try await probeWhileDown(node, round: round, ledger: ledger, context: "\(context), \(mode) shutdown \(round)") }
                    }
                    try await group.waitForAll()
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...300, using: &random)))
                try await cluster.start()
                for writer in writers { await writer.value }
            }

            // Each node recovers by itself: a write through it succeeds within a bounded wait.
            for node in nodes {
                let deadline = ContinuousClock.now + .seconds(30)
                var status = 0, attempt = 0
                while status != 201 && ContinuousClock.now < deadline {
                    attempt += 1
                    let marker = "after \(node.name) \(attempt)"
                    status = try await HTTP.request(
                        port: node.port, "POST", "/tasks", headers: [("Content-Type", "application/json")],
                        body: #"{"project_id":\#(projectID),"title":"\#(marker)","done":false}"#
                    ).status
                    ledger.state.withLock { _ = status == 201 ? $0.acknowledged.insert(marker) : $0.unknown.insert(marker) }
                    #expect(status == 201 || status == 503, "\(context): node \(node.name) answered \(status) while recovering")
                    if status != 201 { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(status == 201, "\(context): node \(node.name) did not recover within 30 s")
            }

            let listing = try await HTTP.request(port: nodes[1].port, "GET", "/tasks?limit=1000")
            let endSeq = try #require(Int(listing.header("X-Change-Seq") ?? ""), "\(context): no X-Change-Seq")
            let log = try await readLog(port: nodes[2].port, since: since, through: endSeq)
            #expect(log.map { $0["seq"] as? Int ?? -1 } == Array(stride(from: since + 1, through: endSeq, by: 1)), "\(context): the log is not gap-free")
            ledger.check(log: log, context: context)
            #expect(ledger.acknowledgedCount > modes.count * 5, "\(context): too few writes were acknowledged")

            var table: [String: String] = [:]
            for event in log where event["collection"] as? String == "tasks" {
                table[String(describing: event["id"] ?? "")] = event["op"] as? String == "delete" ? nil : try canonical(event["item"] ?? NSNull())
            }
            var rows: [String: String] = [:]
            for item in try array(listing) { rows[String(describing: item["id"] ?? "")] = try canonical(item) }
            #expect(table == rows, "\(context): replaying the log does not give the table")

            for (node, feed) in zip(nodes, feeds) {
                let (events, resumes) = try await feed.events(through: endSeq)
                #expect(events.map(eventKey) == log.map(eventKey),
                    "\(context): the \(feed.kind) firehose of node \(node.name) (resumed \(resumes) times) holds \(events.count) of \(log.count) events, to seq \(events.last?["seq"] ?? "none"); its log ends:\n\(node.process.stderr.suffix(2000))")
            }
        }

        /// While the server is down: a listing answers 503, a write 503 (it wrote nothing), the log
        /// 200 or 503; each within `downAnswerBound`, none naming SQL.
        private static func probeWhileDown(_ node: ServedNode, round: Int, ledger: FaultLedger, context: String) async throws {
            let marker = "probe \(node.name) \(round)"
            let probes: [(method: String, target: String, body: String?, allowed: Set<Int>)] = [
                ("GET", "/tasks?limit=5", nil, [503]),
                ("POST", "/tasks", #"{"project_id":1,"title":"\#(marker)","done":false}"#, [503]),
                ("GET", "/_changes?since=0&limit=5", nil, [200, 503]),
                ("GET", "/tasks?limit=5", nil, [503]),
            ]
            for probe in probes {
                let started = ContinuousClock.now
                let response = try await HTTP.request(
                    port: node.port, probe.method, probe.target, headers: probe.body == nil ? [] : [("Content-Type", "application/json")], body: probe.body)
                let took = ContinuousClock.now - started
                if probe.method == "POST" {
                    ledger.state.withLock { _ = response.status == 201 ? $0.acknowledged.insert(marker) : $0.unknown.insert(marker) }
                }
                #expect(probe.allowed.contains(response.status), "\(context): node \(node.name): \(probe.method) \(probe.target) → \(response.status) \(response.text)")
                #expect(took < downAnswerBound, "\(context): node \(node.name): \(probe.method) \(probe.target) took \(took)")
                if response.status == 503 {
                    #expect(response.header("Retry-After") != nil, "\(context): node \(node.name): a 503 without Retry-After")
                    let text = response.text
                    #expect(!["SELECT", "INSERT", "FROM", "PostgreSQL", "$1", "connection"].contains { text.contains($0) },
                        "\(context): node \(node.name): the 503 tells too much: \(text)")
                }
            }
        }
    }
}

/// A firehose that, when its stream ends (a failure told or a connection lost), resumes on the
/// same node with the last seq it received.
protocol Firehose {
    var kind: String { get }
    /// The change events through `seq` (resuming as often as needed, at most 10 times), and how
    /// many times it resumed.
    func events(through seq: Int) async throws -> (events: [[String: Any]], resumes: Int)
}

/// `GET /_feed` as Server-Sent Events, resumed with Last-Event-ID.
struct ServerSentFirehose: Firehose {
    let port: Int
    let since: Int
    let first: EventStreamReader
    var kind: String { "SSE" }

    init(port: Int, since: Int) async throws {
        self.port = port
        self.since = since
        // A read waits at most 5 s (below the 30 s heartbeat): a stream that stopped fails the
        // test, bounded.
        first = try await followFeed(port: port, lastEventID: since, timeout: .seconds(5))
    }

    func events(through seq: Int) async throws -> (events: [[String: Any]], resumes: Int) {
        var events: [[String: Any]] = []
        var reader = first
        var resumes = 0
        while true {
            while let message = try? await reader.next() {
                if message.event == "change" { events.append(message.data) }
                if events.last?["seq"] as? Int ?? 0 >= seq { break }
            }
            reader.connection.close()
            guard events.last?["seq"] as? Int ?? 0 < seq, resumes < 10 else { return (events, resumes) }
            let last = events.last?["seq"] as? Int ?? since
            resumes += 1
            reader = try await followFeed(port: port, lastEventID: last, timeout: .seconds(5))
        }
    }
}

/// `GET /_feed?since=N` as a WebSocket (events as text frames, `{"type":...}` for the others),
/// resumed with `since` after a close (1011 when the node could not read its log).
struct WebSocketFirehose: Firehose {
    let port: Int
    let since: Int
    let first: HTTPConnection
    var kind: String { "WebSocket" }

    init(port: Int, since: Int) async throws {
        self.port = port
        self.since = since
        first = try await Self.open(port: port, since: since)
    }

    static func open(port: Int, since: Int) async throws -> HTTPConnection {
        let connection = try await HTTPConnection(port: port, timeout: .seconds(5))
        let head = try await connection.upgradeToWebSocket("/_feed?since=\(since)")
        guard head.status == 101 else {
            connection.close()
            throw HTTPTestClientError(message: "the WebSocket feed was refused: \(head.status)")
        }
        return connection
    }

    func events(through seq: Int) async throws -> (events: [[String: Any]], resumes: Int) {
        var events: [[String: Any]] = []
        var connection = first
        var resumes = 0
        while true {
            reading: while let frames = try? await connection.nextFrames() {
                for frame in frames {
                    guard frame.opcode == 1 else {
                        if frame.opcode == 8 { break reading }
                        continue
                    }
                    let message = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any] ?? [:]
                    if message["type"] == nil { events.append(message) }
                    if events.last?["seq"] as? Int ?? 0 >= seq { break reading }
                }
            }
            connection.close()
            guard events.last?["seq"] as? Int ?? 0 < seq, resumes < 10 else { return (events, resumes) }
            let last = events.last?["seq"] as? Int ?? since
            resumes += 1
            connection = try await Self.open(port: port, since: last)
        }
    }
}
