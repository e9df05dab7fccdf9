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
        return try await PostgresStore.open(clientConfiguration(database, connections: 6), migrationsDirectory: Migrations.shippedPostgres, logger: logger)
    }

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
    /// and waits for B. PostgreSQL settles it by rolling back the batch (its wait began first, and
    /// the other session's deadlock_timeout is longer); the engine runs the batch again, which
    /// then waits for the other session's commit and succeeds: one answer, its events once, after
    /// the other session's.
    @Test func aWriteADeadlockRollsBackIsRunAgainAndSucceeds() async throws {
        let logger = { var logger = Logger(label: "test"); logger.logLevel = .warning; return logger }()
        let database = try await freshDatabase()
        // PostgreSQL looks for a deadlock once, deadlock_timeout after a wait began. The batch's
        // look must come after the other session closes the cycle, however long a loaded machine
        // takes between the batch's wait and that UPDATE (over 1 s, the default, once in CI), and
        // before the other session's own look (60 s): 5 s for the store's sessions.
        _ = try await PostgresCluster.shared().psql(#"ALTER DATABASE "\#(database.name)" SET deadlock_timeout = '5s'"#, on: database)
        // The batch's lock wait must end by the deadlock, not by its lock_timeout.
        let store = try await PostgresStore.open(
            PostgresEndpoint(client: clientConfiguration(database, connections: 4), connection: connectionConfiguration(database)),
            migrationsDirectory: Migrations.shippedPostgres, busyTimeout: .seconds(60), logger: logger)
        let a = try await store.create(in: "projects", body: Array(#"{"name":"a"}"#.utf8)).items[0].id
        let b = try await store.create(in: "projects", body: Array(#"{"name":"b"}"#.utf8)).items[0].id
        let body = #"[{"op":"patch","collection":"projects","id":\#(a),"body":{"name":"batch a"}},"#
            + #"{"op":"patch","collection":"projects","id":\#(b),"body":{"name":"batch b"}}]"#
        try await withClient(database, connections: 2) { client in
            try await client.withConnection { other in
                try await other.query("SET deadlock_timeout = '60s'", logger: logger)
                try await other.query("BEGIN", logger: logger)
                try await other.query("UPDATE projects SET name = 'other b' WHERE id = \(Int64(b) ?? 0)", logger: logger)
                let batch = Task { try await store.batch(Array(body.utf8)) { _, _ in .unrestricted } }
                // Bounded: until the batch's transaction waits for B's lock.
                var waiting = false
                for _ in 0..<500 where !waiting {
                    let rows = try await client.query(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", logger: logger)
                    for try await count in rows.decode(Int64.self) { waiting = count == 1 }
                    if !waiting { try await Task.sleep(for: .milliseconds(10)) }
                }
                #expect(waiting, "the batch never waited for the other session's lock")
                // Now the other session wants A, which the batch holds: a deadlock, and the batch
                // (5 s deadlock_timeout) is the one PostgreSQL rolls back.
                try await other.query("UPDATE projects SET name = 'other a' WHERE id = \(Int64(a) ?? 0)", logger: logger)
                try await other.query("COMMIT", logger: logger)
                let result = try await batch.value
                #expect(result.outcomes.count == 2)
                let log = try await store.changes(after: 2, collections: nil, limit: 100, maxBytes: .max)
                let names = try log.events.map { event -> String in
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
                    return "\(event.seq) \(((object["item"] as? [String: Any])?["name"] as? String) ?? "")"
                }
                // The other session's two updates (one commit), then the batch's, once.
                #expect(names == ["3 other b", "4 other a", "5 batch a", "6 batch b"])
                #expect(result.seq == 6)
            }
        }
        await store.close()
    }
}
