// The ordering oracle (issue #21): K writers on connections of their own, with random sleeps,
// rollbacks, rolled-back savepoints, long transactions, asynchronous commits, hot rows (`version = version + 1`),
// inserts, deletes and key changes, while a reader tails the log with `seq > last`. Afterwards:
// the feed's seqs are exactly 1..N; the tailing reader saw exactly the final feed (it never
// skipped a late commit); each row's versions increase along the feed; and replaying the feed's
// after-images gives the final table, row JSON for row JSON.

import FeedbaseModel
import FeedbasePostgres
import FeedbaseTestSupport
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

@Suite(.needsPostgres)
struct OrderingOracleTests {
    static let writers = 4
    static let transactionsPerWriter = 12
    static let hotRows = 3

    @Test(arguments: 1...16 as ClosedRange<UInt64>)
    func feedIsCommitOrderWithoutGaps(seed: UInt64) async throws {
        let logger = Logger(label: "oracle")
        let database = try await freshDatabase()
        try await withClient(database, connections: Self.writers + 3) { client in
            try await client.query("CREATE TABLE rows (id bigint PRIMARY KEY, version integer NOT NULL, note text)")
            try await installLog(client, tables: ["rows"], logger: logger)
            for hot in 1...Self.hotRows { try await client.query("INSERT INTO rows (id, version, note) VALUES (\(hot), 0, 'hot')") }

            let stop = StopAt()
            let tail = Task { try await tailLog(client, stop: stop, logger: logger) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<Self.writers {
                    group.addTask { try await write(writer, seed: seed, client: client, logger: logger) }
                }
                try await group.waitForAll()
            }
            let reader = PostgresFeedReader()
            let head = try await reader.head(on: client, logger: logger)
            stop.value.withLock { $0 = head }
            let tailed = try await tail.value
            let feed = try await readAll(client, logger: logger)

            #expect(head > 0)
            #expect(feed.map(\.seq) == Array(stride(from: 1, through: head, by: 1)), "seed \(seed): seqs are not 1..\(head)")
            // A reader that skipped a late commit has fewer seqs; compared as seqs and as text,
            // so a failure prints something a person can read.
            #expect(tailed.map(\.seq) == feed.map(\.seq), "seed \(seed): the tailing reader's seqs differ from the final feed's")
            #expect(tailed.map { String(decoding: $0.json, as: UTF8.self) } == feed.map { String(decoding: $0.json, as: UTF8.self) },
                    "seed \(seed): the tailing reader's events differ from the final feed's")
            try checkVersions(feed, seed: seed)
            let replayed = try replay(feed)
            let table = try await finalTable(client, logger: logger)
            #expect(replayed == table, "seed \(seed): replaying the feed does not give the table")
        }
    }

    /// One writer: its transactions, each a few random operations, then a commit or a rollback.
    /// A transaction touches at most one hot row, and deletes or rekeys only rows this writer
    /// made and saw committed: no lock cycle, so no deadlock to wait out.
    func write(_ writer: Int, seed: UInt64, client: PostgresClient, logger: Logger) async throws {
        var random = SeededGenerator(seed: seed &* 1_000_003 &+ UInt64(writer))
        var nextID = Int64(writer + 1) * 1_000_000
        var mine: [Int64] = []
        try await client.withConnection { connection in
            for _ in 0..<Self.transactionsPerWriter {
                var created: [Int64] = []
                var gone: Set<Int64> = []
                var touchedHot = false
                try await connection.query("BEGIN", logger: logger)
                // Some commits asynchronous, as another program may choose: visible before they
                // are flushed, which the reader must wait out.
                if Int.random(in: 0..<3, using: &random) == 0 {
                    try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
                }
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    switch Int.random(in: 0..<10, using: &random) {
                    case 0...2 where !touchedHot:
                        touchedHot = true
                        let hot = Int64.random(in: 1...Int64(Self.hotRows), using: &random)
                        try await connection.query("UPDATE rows SET version = version + 1 WHERE id = \(hot)", logger: logger)
                    case 3...4, 0...2:
                        nextID += 1
                        created.append(nextID)
                        let note = "w\(writer)"
                        try await connection.query("INSERT INTO rows (id, version, note) VALUES (\(nextID), 0, \(note))", logger: logger)
                    case 5...6:
                        guard let id = (mine + created).filter({ !gone.contains($0) }).randomElement(using: &random) else { continue }
                        try await connection.query("UPDATE rows SET version = version + 1 WHERE id = \(id)", logger: logger)
                    case 7:
                        guard let id = mine.filter({ !gone.contains($0) }).randomElement(using: &random) else { continue }
                        gone.insert(id)
                        try await connection.query("DELETE FROM rows WHERE id = \(id)", logger: logger)
                    case 8:
                        // A changed primary key: the feed says delete, then create.
                        guard let id = mine.filter({ !gone.contains($0) }).randomElement(using: &random) else { continue }
                        nextID += 1
                        gone.insert(id)
                        created.append(nextID)
                        try await connection.query("UPDATE rows SET id = \(nextID), version = version + 1 WHERE id = \(id)", logger: logger)
                    default:
                        // A savepoint whose work is rolled back inside a transaction that goes on.
                        nextID += 1
                        try await connection.query("SAVEPOINT s", logger: logger)
                        try await connection.query("INSERT INTO rows (id, version, note) VALUES (\(nextID), 0, 'rolled back')", logger: logger)
                        try await connection.query("ROLLBACK TO SAVEPOINT s", logger: logger)
                    }
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...3, using: &random)))
                }
                // Now and then a long transaction: later ones commit before it.
                if Int.random(in: 0..<6, using: &random) == 0 {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 20...60, using: &random)))
                }
                if Int.random(in: 0..<5, using: &random) == 0 {
                    try await connection.query("ROLLBACK", logger: logger)
                } else {
                    try await connection.query("COMMIT", logger: logger)
                    mine = mine.filter { !gone.contains($0) } + created
                }
            }
        }
    }

    /// Follows the log as a node does (`seq > last`, small pages) until it has read up to the
    /// head that `stop` is given (the writers are done by then).
    func tailLog(_ client: PostgresClient, stop: StopAt, logger: Logger) async throws -> [ChangeEvent] {
        let reader = PostgresFeedReader()
        var events: [ChangeEvent] = []
        var last: Int64 = 0
        while true {
            let batch = try await reader.changes(after: last, collections: nil, limit: 7, maxBytes: 1 << 20, on: client, logger: logger)
            events += batch.events
            last = batch.reached
            if let target = stop.value.withLock({ $0 }), last >= target { return events }
            if batch.events.isEmpty { try await Task.sleep(for: .milliseconds(2)) }
        }
    }

    final class StopAt: Sendable {
        let value = Mutex<Int64?>(nil)
    }

    func readAll(_ client: PostgresClient, logger: Logger) async throws -> [ChangeEvent] {
        let reader = PostgresFeedReader()
        var events: [ChangeEvent] = []
        var last: Int64 = 0
        while true {
            let batch = try await reader.changes(after: last, collections: nil, limit: 50, maxBytes: 1 << 20, on: client, logger: logger)
            events += batch.events
            if batch.events.isEmpty || batch.reached == batch.head { return events }
            last = batch.reached
        }
    }

    func checkVersions(_ feed: [ChangeEvent], seed: UInt64) throws {
        var versions: [String: Int] = [:]
        for event in feed {
            let shape = try EventShape(event)
            let version = try Self.version(of: shape.item)
            if let before = versions[shape.id], shape.op != "delete" {
                #expect(version > before, "seed \(seed): row \(shape.id) goes from version \(before) to \(version) at seq \(event.seq)")
            }
            versions[shape.id] = version
        }
    }

    static func version(of item: String) throws -> Int {
        guard let object = try JSONSerialization.jsonObject(with: Data(item.utf8)) as? [String: Any], let version = object["version"] as? Int else {
            throw ChildProcessError("no version in \(item)")
        }
        return version
    }

    func replay(_ feed: [ChangeEvent]) throws -> [String: String] {
        var table: [String: String] = [:]
        for event in feed {
            let shape = try EventShape(event)
            if shape.op == "delete" { table[shape.id] = nil } else { table[shape.id] = shape.item }
        }
        return table
    }

    func finalTable(_ client: PostgresClient, logger: Logger) async throws -> [String: String] {
        let table = try await client.withConnection { try await PostgresTable.read("rows", on: $0, logger: logger) }
        guard let table else { throw ChildProcessError("no table rows") }
        var rows: [String: String] = [:]
        let sql = "SELECT r.id::text, \(PostgresRowJSON.objectExpression(table, row: "r"))::text FROM rows r"
        for try await (id, json) in try await client.query(PostgresQuery(unsafeSQL: sql)).decode((String, String).self) { rows[id] = json }
        return rows
    }
}
