// Writes by other programs are logged (the triggers fire in psql too), and nodes learn of new
// seqs: woken by NOTIFY after a commit, or by the slow poll when the writer notifies no one.

import FeedbaseModel
import FeedbasePostgres
import FeedbaseTestSupport
import Logging
import PostgresNIO
import Synchronization
import Testing

@Suite(.needsPostgres)
struct WakeupTests {
    let logger = Logger(label: "test")

    @Test func aWriteByPsqlProducesItsEvent() async throws {
        let cluster = try await PostgresCluster.shared()
        let database = try await cluster.createDatabase()
        try await withClient(database) { client in
            try await client.query("CREATE TABLE notes (id text PRIMARY KEY, body text)")
            try await installLog(client, tables: ["notes"], logger: logger)
        }
        // Another program, with a search_path that does not name the log's schema.
        _ = try await cluster.psql("SET search_path = pg_catalog; INSERT INTO public.notes VALUES ('a', 'from psql')", on: database)
        let batch = try await withClient(database) { client in
            try await PostgresFeedReader().changes(after: 0, collections: nil, limit: 10, maxBytes: 1 << 20, on: client, logger: logger)
        }
        #expect(batch.events.map(\.seq) == [1])
        let shape = try #require(try batch.events.first.map(EventShape.init))
        #expect(shape.op == "create")
        #expect(shape.item == #"{"id":"a","body":"from psql"}"#)
    }

    @Test func aListenerIsWokenAfterACommit() async throws {
        let database = try await freshDatabase()
        try await withClient(database) { client in
            try await client.query("CREATE TABLE notes (id text PRIMARY KEY, body text)")
            try await installLog(client, tables: ["notes"], logger: logger)
            // A poll far longer than the test's bound: only the notification can wake it in time.
            try await watching(PostgresChangeWatcher(pollInterval: .seconds(3600)), client: client, database: database) { heads in
                // The watcher may start listening after this commit: it reads the head once listening.
                try await client.query("INSERT INTO notes VALUES ('a', 'one')")
                try await PostgresCommitSignal.notify(on: client, logger: logger)
                try await heads.wait(until: 1, within: .seconds(20))
                try await client.query("INSERT INTO notes VALUES ('b', 'two')")
                try await PostgresCommitSignal.notify(on: client, logger: logger)
                try await heads.wait(until: 2, within: .seconds(20))
            }
        }
    }

    @Test func aListenerWhoseConnectionIsTerminatedListensAgain() async throws {
        let database = try await freshDatabase()
        try await withClient(database) { client in
            try await client.query("CREATE TABLE notes (id text PRIMARY KEY, body text)")
            try await installLog(client, tables: ["notes"], logger: logger)
            let watcher = PostgresChangeWatcher(pollInterval: .seconds(3600), retryInterval: .milliseconds(50))
            try await watching(watcher, client: client, database: database) { heads in
                try await client.query("INSERT INTO notes VALUES ('a', 'one')")
                try await PostgresCommitSignal.notify(on: client, logger: logger)
                try await heads.wait(until: 1, within: .seconds(20))
                // As an operator or a failover would: the listening backend is gone.
                let listeners = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
                // (The head may have come from the first poll, before LISTEN took effect: wait for it.)
                var pids: [Int32] = []
                let listening = ContinuousClock.now + .seconds(20)
                while pids.isEmpty && ContinuousClock.now < listening {
                    pids = try await client.query(PostgresQuery(unsafeSQL: listeners)).collect().map { try $0.decode(Int32.self) }
                    if pids.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
                }
                #expect(pids.count == 1)
                for pid in pids { _ = try await client.query("SELECT pg_terminate_backend(\(pid))").collect() }
                // Notify until the new listener hears it: a notification sent before it listens
                // is lost, as any NOTIFY's, and the slow poll is an hour away.
                try await client.query("INSERT INTO notes VALUES ('b', 'two')")
                let deadline = ContinuousClock.now + .seconds(20)
                while heads.latest < 2 && ContinuousClock.now < deadline {
                    try await PostgresCommitSignal.notify(on: client, logger: logger)
                    try await heads.wait(until: 2, within: .milliseconds(50), orThrow: false)
                }
                #expect(heads.latest == 2)
            }
        }
    }

    @Test func theSlowPollFindsWritesThatNotifyNoOne() async throws {
        let cluster = try await PostgresCluster.shared()
        let database = try await cluster.createDatabase()
        try await withClient(database) { client in
            try await client.query("CREATE TABLE notes (id text PRIMARY KEY, body text)")
            try await installLog(client, tables: ["notes"], logger: logger)
            try await watching(PostgresChangeWatcher(pollInterval: .milliseconds(100)), client: client, database: database) { heads in
                _ = try await cluster.psql("INSERT INTO notes VALUES ('a', 'psql notifies no one')", on: database)
                try await heads.wait(until: 1, within: .seconds(20))
            }
        }
    }

    /// Runs `body` while `watcher` runs; the watcher is cancelled and awaited before this
    /// returns, so the client stops with no connection still leased.
    func watching(
        _ watcher: PostgresChangeWatcher, client: PostgresClient, database: PostgresCluster.Database, _ body: @Sendable (Heads) async throws -> Void
    ) async throws {
        let heads = Heads()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await watcher.run(client: client, listening: connectionConfiguration(database), from: 0, logger: logger) { heads.record($0) }
            }
            defer { group.cancelAll() }
            try await body(heads)
        }
    }
}

/// The heads a watcher reported.
final class Heads: Sendable {
    private let value = Mutex<Int64>(0)

    var latest: Int64 { value.withLock { $0 } }

    func record(_ head: Int64) { value.withLock { $0 = max($0, head) } }

    /// Waits until a head of at least `head` was reported, checking every few milliseconds,
    /// for at most `timeout`; then throws (or returns, with `orThrow` false).
    func wait(until head: Int64, within timeout: Duration, orThrow: Bool = true) async throws {
        let deadline = ContinuousClock.now + timeout
        while latest < head {
            guard ContinuousClock.now < deadline else {
                if orThrow { throw ChildProcessError("no head \(head) within \(timeout) (latest \(latest))") }
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
