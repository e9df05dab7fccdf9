// Every backend of a busy pool terminated (pg_terminate_backend), five times: each use of a
// connection answers or fails within a bound, none waits for ever, and the pool serves again
// afterwards. postgres-nio alone leaves a few queries waiting for ever here (about 3 of 2,400);
// the engine's uses go through PostgresLease, whose work is bound to its connection's life
// (PostgresConnectionWatch).

import FeedbasePostgres
import FeedbaseTestSupport
import Foundation
import Logging
import NIOPosix
import PostgresNIO
import Synchronization
import Testing

@Suite(.needsPostgres, .serialized)
struct TerminationTests {
    @Test func usesOfATerminatedPoolAnswerOrFailWithinABound() async throws {
        let database = try await freshDatabase()
        let cluster = try await PostgresCluster.shared()
        let flight = InFlight()
        let workers = 12
        // On event loops of its own: in a full `swift test` this test's pool shared the process's
        // default loops with every other suite's, and its uses waited there with their
        // connections open, which is not what it tests (docs/TESTING.md).
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { loops.shutdownGracefully { _ in } }
        let client = PostgresClient(configuration: clientConfiguration(database), eventLoopGroup: loops)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            // As the engine uses its pool: a bounded wait for a connection, the work bound to it.
            let lease = PostgresLease(client: client)
            // Unstructured, so that a use stuck for ever fails the test instead of hanging it.
            for worker in 0..<workers {
                Task {
                    for step in 0..<120 {
                        let key = "worker \(worker) step \(step)"
                        flight.set(key, "leasing")
                        _ = try? await lease.withConnection { connection in
                            flight.set(key, "querying")
                            _ = try await connection.query("SELECT pg_sleep(0.001), 1", logger: Logger(label: "feedbase-test")).collect()
                        }
                        flight.set(key, nil)
                    }
                    flight.finish()
                }
            }
            var terminated = 0
            for _ in 0..<5 {
                try await Task.sleep(for: .milliseconds(300))
                let output = try await cluster.psql(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    on: database)
                terminated += Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
            #expect(terminated >= 5, "only \(terminated) backends were terminated")
            let deadline = ContinuousClock.now + .seconds(60)
            while flight.finished < workers && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            let stuck = flight.state.withLock { $0.phases }
            #expect(flight.finished == workers, "uses still waiting 60 s after the last termination: \(stuck)")
            let one = try await client.withLiveConnection { connection in
                try await connection.query("SELECT 1", logger: Logger(label: "feedbase-test")).collect().first?.decode(Int.self)
            }
            #expect(one == 1)
        }
    }
}

private final class InFlight: Sendable {
    let state = Mutex<(phases: [String: String], finished: Int)>(([:], 0))
    func set(_ key: String, _ phase: String?) { state.withLock { $0.phases[key] = phase } }
    func finish() { state.withLock { $0.finished += 1 } }
    var finished: Int { state.withLock { $0.finished } }
}
