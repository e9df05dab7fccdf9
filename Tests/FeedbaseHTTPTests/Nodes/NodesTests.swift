// Three `feedbase serve` nodes over one PostgreSQL database behave as one server: writers on all
// three move tasks in and out of the band `done=eq.false`; a band follower on each node (over SSE
// or WebSocket) holds exactly the REST listing of the band at the log's end, whichever node
// lists it; the firehose of each node is exactly the log (same seqs and events, in order,
// gap-free); every acknowledged write has exactly one event. A band follower and a firehose
// leave node A part-way, under the writes, and resume on node B with their last seq (`since`,
// `Last-Event-ID`) and the copy they hold: nothing lost, nothing repeated, nothing re-read.
//
// Seeded: FEEDBASE_NODES_SEED runs one seed of your choice; every failure names its seed.
// Skipped, with the reason, where PostgreSQL's binaries are missing.

import FeedbaseTestSupport
import Foundation
import Testing

let nodeSeeds: [UInt64] = ProcessInfo.processInfo.environment["FEEDBASE_NODES_SEED"].flatMap(UInt64.init).map { [$0] } ?? [1, 2, 3]

extension NodeSuites {
    @Suite(
        .serialized, .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason ?? "PostgreSQL is available")))
    struct NodesTests {
        static let band = "done=eq.false"
        static let writesPerNode = 40

        @Test(arguments: nodeSeeds)
        func threeNodesServeOneFeedAndSubscribersResumeOnAnotherNode(seed: UInt64) async throws {
            let database = try await PostgresCluster.shared().createDatabase()
            let nodes = try await ServedNode.startThree(database: database)
            do {
                try await Self.run(seed: seed, nodes: nodes)
            } catch {
                for node in nodes { _ = try? await node.kill() }
                throw error
            }
            for node in nodes {
                #expect(try await node.stop() == 0, "seed \(seed): node \(node.name) did not stop cleanly")
                #expect(node.crashes.isEmpty, "seed \(seed): node \(node.name): \(node.crashes)")
            }
        }

        private static func run(seed: UInt64, nodes: [ServedNode]) async throws {
            var random = SeededGenerator(seed: seed)
            let (a, b) = (nodes[0], nodes[1])
            let project = try await HTTP.request(port: a.port, "POST", "/projects", headers: [("Content-Type", "application/json")], body: #"{"name":"nodes"}"#)
            let projectID = try #require((try? JSONSerialization.jsonObject(with: Data(project.body)) as? [String: Any])?["id"] as? Int, "seed \(seed): \(project.text)")
            let empty = try await HTTP.request(port: b.port, "GET", "/tasks?\(band)&limit=1000")
            #expect(try array(empty).isEmpty, "seed \(seed)")
            let since = try #require(Int(empty.header("X-Change-Seq") ?? ""), "seed \(seed): no X-Change-Seq")

            // Subscribers on every node, before the first write.
            let transports: [BandTransport] = [.serverSentEvents, .webSocket, .serverSentEvents]
            var bands: [any BandFollower] = []
            var feeds: [EventStreamReader] = []
            for (node, transport) in zip(nodes, transports) {
                bands.append(try await transport.follow(port: node.port, collection: "tasks", query: band, since: since))
                feeds.append(try await followFeed(port: node.port, lastEventID: since))
            }
            let leavingBand = try await BandTransport.serverSentEvents.follow(port: a.port, collection: "tasks", query: band, since: since)
            let leavingFeed = try await followFeed(port: a.port, lastEventID: since)

            // Writers on every node.
            let writers = nodes.enumerated().map { index, node in
                let writer = TaskWriter(label: "node \(node.name)", seed: seed &* 31 &+ UInt64(index), projectID: projectID)
                return Task { try await writer.run(port: node.port, writes: writesPerNode) }
            }

            // Under the writes: leave node A at a random point, resume on node B with the seq held.
            let total = writesPerNode * nodes.count
            let bandSwitch = since + Int.random(in: 1...total / 2, using: &random)
            var bandCopy: [String: String] = [:]
            var bandLast = since
            while bandLast < bandSwitch {
                let message = try await leavingBand.next()
                switch message.kind {
                case "ready", "progress": bandLast = max(bandLast, message.seq)
                case "change":
                    #expect(message.seq > bandLast, "seed \(seed): the band on A went back")
                    bandLast = message.seq
                    let id = message.data["id"] as? String ?? ""
                    switch message.data["op"] as? String {
                    case "create", "enter", "update": bandCopy[id] = try canonical(message.data["item"] ?? NSNull())
                    default: bandCopy[id] = nil
                    }
                default: Issue.record("seed \(seed): the band on A said \(message.kind) \(message.data)")
                }
            }
            leavingBand.close()
            let resumedBand = try await BandTransport.serverSentEvents.follow(port: b.port, collection: "tasks", query: band, since: bandLast)
            let feedSwitch = since + Int.random(in: 1...total / 2, using: &random)
            let feedBefore = try await readFeed(leavingFeed, through: feedSwitch)
            leavingFeed.connection.close()
            let feedLast = feedBefore.last?["seq"] as? Int ?? since
            let resumedFeed = try await followFeed(port: b.port, lastEventID: feedLast)

            for writer in writers {
                for failure in try await writer.value { Issue.record("\(failure)") }
            }

            // The end: the band's listing is the same on every node, at the same seq.
            var listings: [(seq: Int, items: [String: String])] = []
            for node in nodes {
                let listing = try await HTTP.request(port: node.port, "GET", "/tasks?\(band)&limit=1000")
                var items: [String: String] = [:]
                for item in try array(listing) { items[String(describing: item["id"] ?? "")] = try canonical(item) }
                listings.append((Int(listing.header("X-Change-Seq") ?? "") ?? -1, items))
            }
            let end = listings[0]
            for (node, listing) in zip(nodes, listings) {
                #expect(listing.seq == end.seq && listing.items == end.items, "seed \(seed): node \(node.name) lists another band")
            }
            let endSeq = end.seq
            #expect(endSeq == since + total, "seed \(seed): \(endSeq - since) events for \(total) acknowledged writes")

            // The log: gap-free, the same on every node.
            let log = try await readLog(port: a.port, since: since, through: endSeq)
            #expect(log.map { $0["seq"] as? Int ?? -1 } == Array(stride(from: since + 1, through: endSeq, by: 1)), "seed \(seed): the log is not \(since + 1)...\(endSeq)")
            let logKeys = log.map(eventKey)
            for node in nodes.dropFirst() {
                #expect(try await readLog(port: node.port, since: since, through: endSeq).map(eventKey) == logKeys, "seed \(seed): node \(node.name)'s log differs")
            }

            // Every firehose is exactly the log; the resumed one too, across the switch.
            for (node, feed) in zip(nodes, feeds) {
                #expect(try await readFeed(feed, through: endSeq).map(eventKey) == logKeys, "seed \(seed): the firehose of node \(node.name)")
                feed.connection.close()
            }
            let feedAfter = try await readFeed(resumedFeed, through: endSeq)
            #expect((feedBefore + feedAfter).map(eventKey) == logKeys, "seed \(seed): the firehose resumed on B after \(feedLast)")
            resumedFeed.connection.close()

            // Every band's copy is the listing; the resumed band continues from the copy it held.
            for (index, (node, follower)) in zip(nodes, bands).enumerated() {
                try await replayBand(
                    follower, copy: [:], since: since, endSeq: endSeq, checkThrough: endSeq, views: [end],
                    context: "seed \(seed): band on node \(node.name) over \(transports[index])", strictRemovals: true)
            }
            try await replayBand(
                resumedBand, copy: bandCopy, since: bandLast, endSeq: endSeq, checkThrough: endSeq, views: [end],
                context: "seed \(seed): band resumed on B after \(bandLast)", strictRemovals: true)
        }
    }
}
