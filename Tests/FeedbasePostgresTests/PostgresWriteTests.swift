// PostgreSQL writes under concurrency, where the differential test (one writer) cannot look:
// each write answers the seq of its own last event, two writers with the same If-Match cannot
// both win (the row is locked FOR UPDATE across check and write), and pruning removes whole
// commits oldest first, leaving `oldest` exact.

import FeedbaseModel
import FeedbaseTestSupport
import FeedbasePostgres
import Foundation
import Logging
import Testing

@Suite(.needsPostgres)
struct PostgresWriteTests {
    static func store() async throws -> PostgresStore {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let database = try await freshDatabase()
        return try await PostgresStore.open(
            clientConfiguration(database, connections: 6), migrationsDirectory: Migrations.shippedPostgres, leaseTimeout: leaseTimeout, logger: logger)
    }

    /// CI's first pass runs these beside hundreds of servers on two cores, where opening a
    /// connection can take seconds: the 5 s a request waits for one (then 503) is not what these
    /// tests are about.
    static let leaseTimeout: Duration = .seconds(30)

    @Test func eachWriteAnswersTheSeqOfItsOwnEventUnderConcurrentWriters() async throws {
        let store = try await Self.store()
        let project = try await store.create(in: "projects", body: Array(#"{"name":"p"}"#.utf8)).items[0]
        let answers = try await withThrowingTaskGroup(of: (String, Int64).self) { group in
            for writer in 0..<6 {
                group.addTask {
                    var answers: [(String, Int64)] = []
                    for index in 0..<15 {
                        let created = try await store.create(in: "tasks", body: Array(#"{"project_id":\#(project.id),"title":"w\#(writer)-\#(index)"}"#.utf8))
                        answers.append((created.items[0].id, created.seq))
                    }
                    return answers.last ?? ("", 0)
                }
            }
            var all: [(String, Int64)] = []
            for try await answer in group { all.append(answer) }
            return all
        }
        let log = try await store.changes(after: 0, collections: nil, limit: 1000, maxBytes: .max)
        #expect(log.events.map(\.seq) == Array(1...Int64(1 + 6 * 15)))
        for (id, seq) in answers {
            let event = try #require(log.events.first { $0.seq == seq })
            #expect(event.collection == "tasks" && String(decoding: event.json, as: UTF8.self).contains(#""id":"\#(id)""#), "seq \(seq) is not task \(id)'s event")
        }
        await store.close()
    }

    @Test func twoWritersWithTheSameIfMatchCannotBothWin() async throws {
        let store = try await Self.store()
        for round in 0..<10 {
            let item = try await store.create(in: "projects", body: Array(#"{"name":"r\#(round)"}"#.utf8)).items[0]
            // A write answers the bytes a read gives, so its ETag is the one If-Match is checked against.
            #expect(try await store.item(in: "projects", id: item.id)?.json == item.json)
            let results = await withTaskGroup(of: Bool.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        (try? await store.patch(
                            in: "projects", id: item.id, body: Array(#"{"description":"writer \#(writer)"}"#.utf8),
                            preconditions: Preconditions(ifMatch: [item.etag]))) != nil
                    }
                }
                var wins: [Bool] = []
                for await won in group { wins.append(won) }
                return wins
            }
            #expect(results.filter { $0 }.count == 1, "round \(round): \(results)")
        }
        await store.close()
    }

    @Test func pruningRemovesWholeCommitsOldestFirst() async throws {
        let store = try await Self.store()
        // Ten commits: one of three events, then nine of one.
        _ = try await store.create(in: "projects", body: Array(#"[{"name":"a"},{"name":"b"},{"name":"c"}]"#.utf8))
        for index in 0..<9 { _ = try await store.create(in: "projects", body: Array(#"{"name":"n\#(index)"}"#.utf8)) }
        #expect(try await store.pruneChanges(olderThan: nil, keep: nil) == 0)
        // Keeping the newest 10 events means the bound falls inside the first commit: it stays.
        #expect(try await store.pruneChanges(olderThan: nil, keep: 10) == 0)
        #expect(try await store.pruneChanges(olderThan: nil, keep: 8) == 4)
        var log = try await store.changes(after: 0, collections: nil, limit: 100, maxBytes: .max)
        #expect(log.oldest == 5 && log.events.map(\.seq) == Array(5...12) && log.head == 12)
        #expect(log.isPruned(after: 3) && !log.isPruned(after: 4))
        #expect(try await store.pruneChanges(olderThan: .seconds(3600), keep: nil) == 0)
        #expect(try await store.pruneChanges(olderThan: .zero, keep: nil) == 8)
        log = try await store.changes(after: 0, collections: nil, limit: 100, maxBytes: .max)
        #expect(log.events.isEmpty && log.oldest == 13 && log.head == 12)
        await store.close()
    }

    /// A real deadlock: another session holds project B and then asks for A while a batch holds A
    /// and waits for B. PostgreSQL settles it by rolling back the batch; the engine runs the batch
    /// again, which then waits for the other session's commit and succeeds: one answer, its events
    /// once, after the other session's.
    ///
    /// PostgreSQL looks for a deadlock once per wait, deadlock_timeout after the wait began, and
    /// rolls back whoever looks first once the cycle is closed. So the cycle is closed before the
    /// batch's wait for B begins, however slowly this test runs: a third session holds A first,
    /// the batch and then the other session queue for A behind it, and when it commits the batch
    /// takes A and asks for B with the other session already waiting for A. The batch looks 2 s
    /// later, the other session 60 s later (both waits begin at that commit).
    @Test func aWriteADeadlockRollsBackIsRunAgainAndSucceeds() async throws {
        let logger = { var logger = Logger(label: "test"); logger.logLevel = .warning; return logger }()
        let database = try await freshDatabase()
        _ = try await PostgresCluster.shared().psql(#"ALTER DATABASE "\#(database.name)" SET deadlock_timeout = '2s'"#, on: database)
        // The batch's lock waits must end by the deadlock and the commits, not by its lock_timeout.
        let store = try await PostgresStore.open(
            PostgresEndpoint(client: clientConfiguration(database, connections: 4), connection: connectionConfiguration(database)),
            migrationsDirectory: Migrations.shippedPostgres, busyTimeout: .seconds(300), leaseTimeout: Self.leaseTimeout, logger: logger)
        let a = try await store.create(in: "projects", body: Array(#"{"name":"a"}"#.utf8)).items[0].id
        let b = try await store.create(in: "projects", body: Array(#"{"name":"b"}"#.utf8)).items[0].id
        let body = #"[{"op":"patch","collection":"projects","id":\#(a),"body":{"name":"batch a"}},"#
            + #"{"op":"patch","collection":"projects","id":\#(b),"body":{"name":"batch b"}}]"#
        try await withClient(database, connections: 4) { client in
            // Bounded: until `count` sessions of the database wait for a lock.
            func waitForLockWaiters(_ count: Int64) async throws {
                for _ in 0..<3000 {
                    let rows = try await client.query(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", logger: logger)
                    for try await waiting in rows.decode(Int64.self) where waiting == count { return }
                    try await Task.sleep(for: .milliseconds(10))
                }
                throw PostgresTestError("\(count) sessions never waited for a lock")
            }
            try await client.withConnection { first in
                try await client.withConnection { other in
                    try await other.query("SET deadlock_timeout = '60s'", logger: logger)
                    try await first.query("SET deadlock_timeout = '60s'", logger: logger)
                    try await other.query("BEGIN", logger: logger)
                    try await other.query("UPDATE projects SET name = 'other b' WHERE id = \(Int64(b) ?? 0)", logger: logger)
                    try await first.query("BEGIN", logger: logger)
                    try await first.query("UPDATE projects SET name = 'first a' WHERE id = \(Int64(a) ?? 0)", logger: logger)
                    let batch = Task { try await store.batch(Array(body.utf8)) { _, _ in .unrestricted } }
                    try await waitForLockWaiters(1)
                    let otherWantsA = Task {
                        _ = try await other.query("UPDATE projects SET name = 'other a' WHERE id = \(Int64(a) ?? 0)", logger: logger)
                    }
                    try await waitForLockWaiters(2)
                    // The batch takes A and waits for B: the cycle is closed, the batch rolls back.
                    try await first.query("COMMIT", logger: logger)
                    try await otherWantsA.value
                    try await other.query("COMMIT", logger: logger)
                    let result = try await batch.value
                    #expect(result.outcomes.count == 2)
                    let log = try await store.changes(after: 2, collections: nil, limit: 100, maxBytes: .max)
                    let names = try log.events.map { event -> String in
                        let object = try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
                        return "\(event.seq) \(((object["item"] as? [String: Any])?["name"] as? String) ?? "")"
                    }
                    // The first session's update, the other session's two (one commit), then the
                    // batch's, once.
                    #expect(names == ["3 first a", "4 other b", "5 other a", "6 batch a", "7 batch b"])
                    #expect(result.seq == 7)
                }
            }
        }
        await store.close()
    }
}
