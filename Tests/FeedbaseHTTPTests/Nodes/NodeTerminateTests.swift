// pg_terminate_backend under load: three nodes with writers on each and a firehose on each;
// again and again, every PostgreSQL connection of the nodes (their pools and their LISTEN
// connections) is terminated. Meanwhile a request either succeeds or fails cleanly (503, or the
// connection answered nothing: never another status, never a wrong answer); the nodes recover by
// themselves (a write on each succeeds within a bounded wait, no restart); every acknowledged
// write has exactly one event in a gap-free log; each firehose, resumed with its last seq on the
// same node should its stream end, is exactly the log.
//
// Seeded: FEEDBASE_NODES_SEED runs one seed of your choice; every failure names its seed.

import FeedbaseTestSupport
import Foundation
import Testing

extension NodeSuites {
    @Suite(
        .serialized, .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason ?? "PostgreSQL is available")))
    struct NodeTerminateTests {
        @Test(arguments: nodeSeeds)
        func terminatedConnectionsFailCleanlyAndTheNodesRecoverByThemselves(seed: UInt64) async throws {
            let cluster = try await PostgresCluster.shared()
            let database = try await cluster.createDatabase()
            let nodes = try await ServedNode.startThree(database: database)
            do {
                try await Self.run(seed: seed, nodes: nodes, cluster: cluster, database: database)
            } catch {
                Issue.record(error, "seed \(seed)")
            }
            for node in nodes {
                #expect(try await node.stop() == 0, "seed \(seed): node \(node.name) did not stop cleanly")
                #expect(node.crashes.isEmpty, "seed \(seed): node \(node.name): \(node.crashes)")
            }
        }

        private static func run(seed: UInt64, nodes: [ServedNode], cluster: PostgresCluster, database: PostgresCluster.Database) async throws {
            var random = SeededGenerator(seed: seed)
            let context = "seed \(seed)"
            let project = try await HTTP.request(port: nodes[0].port, "POST", "/projects", headers: [("Content-Type", "application/json")], body: #"{"name":"terminate"}"#)
            let projectID = try #require((try? JSONSerialization.jsonObject(with: Data(project.body)) as? [String: Any])?["id"] as? Int, "\(context): \(project.text)")
            let since = try #require(Int(try await HTTP.request(port: nodes[0].port, "GET", "/tasks?limit=1").header("X-Change-Seq") ?? ""))
            var feeds: [EventStreamReader] = []
            // A read of a firehose waits at most 5 s (below the feed's 30 s heartbeat, so a stream that
            // only pings still ends the wait): a node whose feed stopped fails the test, bounded.
            for node in nodes { feeds.append(try await followFeed(port: node.port, lastEventID: since, timeout: .seconds(5))) }

            let ledger = FaultLedger()
            let writers = nodes.indices.map { index in
                let writer = FaultWriter(label: "writer \(nodes[index].name)", seed: seed &* 31 &+ UInt64(index), projectID: projectID, ledger: ledger)
                return Task { await writer.run(ports: [nodes[index].port], writes: 60) }
            }
            var terminated = 0
            for _ in 0..<3 {
                let target = ledger.acknowledgedCount + Int.random(in: 5...25, using: &random)
                let deadline = ContinuousClock.now + .seconds(30)
                while ledger.acknowledgedCount < target && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
                let output = try await cluster.psql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    on: database)
                terminated += Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
            for writer in writers { await writer.value }
            #expect(terminated >= 3 * nodes.count, "\(context): only \(terminated) connections were terminated")

            // Each node recovers by itself: a write through it succeeds within a bounded wait.
            for node in nodes {
                let deadline = ContinuousClock.now + .seconds(30)
                var status = 0
                while status != 201 && ContinuousClock.now < deadline {
                    status = try await HTTP.request(
                        port: node.port, "POST", "/projects", headers: [("Content-Type", "application/json")], body: #"{"name":"after \#(node.name)"}"#
                    ).status
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
            #expect(ledger.acknowledgedCount > 0, "\(context): no write was acknowledged")

            var table: [String: String] = [:]
            for event in log where event["collection"] as? String == "tasks" {
                table[String(describing: event["id"] ?? "")] = event["op"] as? String == "delete" ? nil : try canonical(event["item"] ?? NSNull())
            }
            var rows: [String: String] = [:]
            for item in try array(listing) { rows[String(describing: item["id"] ?? "")] = try canonical(item) }
            #expect(table == rows, "\(context): replaying the log does not give the table")

            for (node, feed) in zip(nodes, feeds) {
                var events: [[String: Any]] = []
                var reader = feed
                for _ in 0..<5 {
                    while let message = try? await reader.next() {
                        if message.event == "change" { events.append(message.data) }
                        if events.last?["seq"] as? Int ?? 0 >= endSeq { break }
                    }
                    reader.connection.close()
                    if events.last?["seq"] as? Int ?? 0 >= endSeq { break }
                    reader = try await followFeed(port: node.port, lastEventID: events.last?["seq"] as? Int ?? since, timeout: .seconds(5))
                }
                #expect(events.map(eventKey) == log.map(eventKey), "\(context): the firehose of node \(node.name) holds \(events.count) of \(log.count) events, to seq \(events.last?["seq"] ?? "none"); its log ends:\n\(node.process.stderr.suffix(2000))")
            }
        }
    }
}
