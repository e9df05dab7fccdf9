// kill -9 of one node of three under load: writers on every node (those of the killed node go on
// through another), a band follower and a firehose on the victim. After the kill the followers
// keep what they had received and resume on a surviving node with their last seq. Then: the log
// is gap-free and every acknowledged write has exactly one event in it (an unanswered one at most
// one, nothing else any); the resumed firehose is exactly the log; the resumed band's copy is the
// band's REST listing; replaying the log gives the whole table.
//
// Seeded: FEEDBASE_NODES_SEED runs one seed of your choice; every failure names its seed.

import FeedbaseTestSupport
import Foundation
import Testing

extension NodeSuites {
    @Suite(
        .serialized, .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason ?? "PostgreSQL is available")))
    struct NodeKillTests {
        static let band = "done=eq.false"

        @Test(arguments: nodeSeeds)
        func aNodeKilledUnderLoadLosesNoAcknowledgedWriteAndItsSubscribersResumeElsewhere(seed: UInt64) async throws {
            let database = try await PostgresCluster.shared().createDatabase()
            let nodes = try await ServedNode.startThree(database: database)
            do {
                try await Self.run(seed: seed, nodes: nodes)
            } catch {
                for node in nodes { _ = try? await node.kill() }
                for node in nodes { print("seed \(seed): node \(node.name)'s log ends:\n\(node.process.stderr.suffix(3000))") }
                throw error
            }
            for node in nodes where node.process.isRunning {
                #expect(try await node.stop() == 0, "seed \(seed): node \(node.name) did not stop cleanly")
                #expect(node.crashes.isEmpty, "seed \(seed): node \(node.name): \(node.crashes)")
            }
        }

        private static func run(seed: UInt64, nodes: [ServedNode]) async throws {
            var random = SeededGenerator(seed: seed)
            let victimIndex = Int.random(in: 0..<nodes.count, using: &random)
            let victim = nodes[victimIndex], survivor = nodes[(victimIndex + 1) % nodes.count]
            let context = "seed \(seed), node \(victim.name) killed"
            let project = try await HTTP.request(port: survivor.port, "POST", "/projects", headers: [("Content-Type", "application/json")], body: #"{"name":"kill"}"#)
            let projectID = try #require((try? JSONSerialization.jsonObject(with: Data(project.body)) as? [String: Any])?["id"] as? Int, "\(context): \(project.text)")
            let since = try #require(Int(try await HTTP.request(port: survivor.port, "GET", "/tasks?limit=1").header("X-Change-Seq") ?? ""))

            let bandOnVictim = try await BandTransport.serverSentEvents.follow(port: victim.port, collection: "tasks", query: band, since: since)
            let feedOnVictim = try await followFeed(port: victim.port, lastEventID: since)

            let ledger = FaultLedger()
            let ports = nodes.map(\.port)
            let writers = nodes.indices.map { index in
                let writer = FaultWriter(label: "writer \(nodes[index].name)", seed: seed &* 31 &+ UInt64(index), projectID: projectID, ledger: ledger)
                let order = Array(ports[index...] + ports[..<index])
                return Task { await writer.run(ports: order, writes: 60) }
            }

            // The kill, after a random number of acknowledged writes (a bounded wait for that count).
            let target = Int.random(in: 10...60, using: &random)
            let deadline = ContinuousClock.now + .seconds(30)
            while ledger.acknowledgedCount < target && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
            ledger.markDown(victim.port)
            #expect(try await victim.kill() == 128 + SIGKILL, "\(context): the node had ended before the kill: \(victim.process.stderr)")

            // The followers keep what reached them before the connection ended, then resume.
            var copy = BandCopy(last: since)
            while let message = try? await bandOnVictim.next() { try copy.apply(message) }
            bandOnVictim.close()
            var feedBefore: [[String: Any]] = []
            while let message = try? await feedOnVictim.next() {
                if message.event == "change" { feedBefore.append(message.data) }
            }
            feedOnVictim.connection.close()
            let feedLast = feedBefore.last?["seq"] as? Int ?? since
            let resumedBand = try await BandTransport.serverSentEvents.follow(port: survivor.port, collection: "tasks", query: band, since: copy.last)
            let resumedFeed = try await followFeed(port: survivor.port, lastEventID: feedLast)
            for writer in writers { await writer.value }

            let listing = try await HTTP.request(port: survivor.port, "GET", "/tasks?\(band)&limit=1000")
            let endSeq = try #require(Int(listing.header("X-Change-Seq") ?? ""), "\(context): no X-Change-Seq")
            var bandItems: [String: String] = [:]
            for item in try array(listing) { bandItems[String(describing: item["id"] ?? "")] = try canonical(item) }

            let log = try await readLog(port: survivor.port, since: since, through: endSeq)
            #expect(log.map { $0["seq"] as? Int ?? -1 } == Array(stride(from: since + 1, through: endSeq, by: 1)), "\(context): the log is not gap-free")
            ledger.check(log: log, context: context)
            #expect(ledger.acknowledgedCount > target, "\(context): the writers stopped at the kill")

            // Replaying the log gives the whole table.
            var table: [String: String] = [:]
            for event in log where event["collection"] as? String == "tasks" {
                let id = String(describing: event["id"] ?? "")
                table[id] = event["op"] as? String == "delete" ? nil : try canonical(event["item"] ?? NSNull())
            }
            var rows: [String: String] = [:]
            for item in try array(try await HTTP.request(port: survivor.port, "GET", "/tasks?limit=1000")) {
                rows[String(describing: item["id"] ?? "")] = try canonical(item)
            }
            #expect(table == rows, "\(context): replaying the log does not give the table")

            let feedAfter = try await readFeed(resumedFeed, through: endSeq)
            #expect((feedBefore + feedAfter).map(eventKey) == log.map(eventKey), "\(context): the firehose resumed after \(feedLast)")
            resumedFeed.connection.close()
            #expect(copy.problems.isEmpty, "\(context): band on the killed node: \(copy.problems)")
            try await replayBand(
                resumedBand, copy: copy.items, since: copy.last, endSeq: endSeq, checkThrough: endSeq, views: [(endSeq, bandItems)],
                context: "\(context): band resumed after \(copy.last)", strictRemovals: true)
        }
    }
}
