// Writes by other programs are logged (the triggers fire in psql too), and nodes learn of new
// seqs: woken by NOTIFY after a commit, or by the slow poll when the writer notifies no one.

import FeedbasePostgres
import FeedbaseStore
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
            let watcher = PostgresChangeWatcher(pollInterval: .seconds(3600))
            let (heads, advanced) = AsyncStream.makeStream(of: Int64.self)
            let listening = Task { await watcher.run(client: client, from: 0, logger: logger) { advanced.yield($0) } }
            defer { listening.cancel() }
            // The watcher may start listening after this commit: it reads the head once listening.
            try await client.query("INSERT INTO notes VALUES ('a', 'one')")
            try await PostgresCommitSignal.notify(on: client, logger: logger)
            #expect(try await first(of: heads, within: .seconds(20)) == 1)
            try await client.query("INSERT INTO notes VALUES ('b', 'two')")
            try await PostgresCommitSignal.notify(on: client, logger: logger)
            #expect(try await first(of: heads, within: .seconds(20)) == 2)
        }
    }

    @Test func aListenerWhoseConnectionIsTerminatedListensAgain() async throws {
        let database = try await freshDatabase()
        try await withClient(database) { client in
            try await client.query("CREATE TABLE notes (id text PRIMARY KEY, body text)")
            try await installLog(client, tables: ["notes"], logger: logger)
            let watcher = PostgresChangeWatcher(pollInterval: .seconds(3600), retryInterval: .milliseconds(50))
            let (heads, advanced) = AsyncStream.makeStream(of: Int64.self)
            let listening = Task { await watcher.run(client: client, from: 0, logger: logger) { advanced.yield($0) } }
            defer { listening.cancel() }
            try await client.query("INSERT INTO notes VALUES ('a', 'one')")
            try await PostgresCommitSignal.notify(on: client, logger: logger)
            #expect(try await first(of: heads, within: .seconds(20)) == 1)
            // As an operator or a failover would: the listening backend is gone.
            let listeners = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'"
            var terminated = 0
            for try await pid in try await client.query(PostgresQuery(unsafeSQL: listeners)).decode(Int32.self) {
                try await client.query("SELECT pg_terminate_backend(\(pid))")
                terminated += 1
            }
            #expect(terminated == 1)
            // Notify until the new listener hears it (each notification before it listens is
            // lost, as NOTIFY's are; the slow poll is an hour away).
            try await client.query("INSERT INTO notes VALUES ('b', 'two')")
            let head = try await withThrowingTaskGroup(of: Int64.self) { group in
                group.addTask { try await first(of: heads, within: .seconds(20)) }
                group.addTask {
                    while !Task.isCancelled {
                        try await PostgresCommitSignal.notify(on: client, logger: logger)
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    return 0
                }
                defer { group.cancelAll() }
                return try await group.next() ?? 0
            }
            #expect(head == 2)
        }
    }

    @Test func theSlowPollFindsWritesThatNotifyNoOne() async throws {
        let cluster = try await PostgresCluster.shared()
        let database = try await cluster.createDatabase()
        try await withClient(database) { client in
            try await client.query("CREATE TABLE notes (id text PRIMARY KEY, body text)")
            try await installLog(client, tables: ["notes"], logger: logger)
            let watcher = PostgresChangeWatcher(pollInterval: .milliseconds(100))
            let (heads, advanced) = AsyncStream.makeStream(of: Int64.self)
            let listening = Task { await watcher.run(client: client, from: 0, logger: logger) { advanced.yield($0) } }
            defer { listening.cancel() }
            _ = try await cluster.psql("INSERT INTO notes VALUES ('a', 'psql notifies no one')", on: database)
            #expect(try await first(of: heads, within: .seconds(20)) == 1)
        }
    }

    /// The next element of `stream`, or an error once `timeout` has passed.
    func first(of stream: AsyncStream<Int64>, within timeout: Duration) async throws -> Int64 {
        try await withThrowingTaskGroup(of: Int64?.self) { group in
            group.addTask {
                var iterator = stream.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let head = try await group.next() ?? nil else { throw ChildProcessError("no wake-up within \(timeout)") }
            return head
        }
    }
}
