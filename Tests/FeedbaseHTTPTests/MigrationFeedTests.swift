// A migration's row changes are logged like any write: bands followed from a snapshot taken
// before the migration, resumed after the server restarts with it, hold exactly what the listing
// returns. The migrations are random (seeded): updates that move rows in and out of the bands,
// deletes, key changes, a column added and then written, a backfill of hundreds of rows, and a
// table created and filled in the same file.

import FeedbaseTestSupport
import Foundation
import Testing

private let schema = """
    CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL, priority INTEGER, done BOOLEAN NOT NULL DEFAULT 0);
    """

/// Bands with a select, so that a column the migration adds is not in their items.
private let bands = [
    "priority=eq.5&select=id,title,priority,done",
    "done=is.false&priority=gte.3&select=id,title,priority,done",
    "title=like.*x*&select=id,title,done",
    "or=(priority.lt.2,done.is.true)&select=id,priority",
]

/// A random data migration: statements before and after a column is added, a backfill, a new table.
private func randomMigration(_ random: inout SeededGenerator, backfill: Int) -> String {
    func dataStatement(_ random: inout SeededGenerator) -> String {
        switch Int.random(in: 0..<5, using: &random) {
        case 0: "UPDATE tasks SET priority = \(Int.random(in: 1...5, using: &random)) WHERE id % \(Int.random(in: 2...5, using: &random)) = \(Int.random(in: 0...1, using: &random));"
        case 1: "DELETE FROM tasks WHERE id = \(Int.random(in: 1...30, using: &random));"
        case 2: "UPDATE tasks SET done = 1 - done WHERE priority = \(Int.random(in: 1...5, using: &random));"
        case 3: "UPDATE tasks SET id = id + 1000 WHERE id = \(Int.random(in: 1...30, using: &random));"
        default: "UPDATE tasks SET title = title || 'x' WHERE id BETWEEN \(Int.random(in: 1...20, using: &random)) AND \(Int.random(in: 10...40, using: &random));"
        }
    }
    var lines = ["-- the issue's repro", "UPDATE tasks SET priority = 4 WHERE id <= 3;"]
    for _ in 0..<Int.random(in: 2...5, using: &random) { lines.append(dataStatement(&random)) }
    lines.append("ALTER TABLE tasks ADD COLUMN note TEXT;")
    lines.append("UPDATE tasks SET note = 'n' || id, priority = 5 WHERE id % 4 = 0;")
    lines.append("""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(backfill))
        INSERT INTO tasks (title, priority, done, note) SELECT 'backfill ' || i, 1 + i % 5, i % 2, 'b' FROM n;
        """)
    for _ in 0..<Int.random(in: 1...4, using: &random) { lines.append(dataStatement(&random)) }
    lines.append("CREATE TABLE labels (id INTEGER PRIMARY KEY, name TEXT NOT NULL); /* filled at once */")
    lines.append("INSERT INTO labels (name) SELECT 'label; ' || id FROM tasks WHERE id % 10 = 0;")
    return lines.joined(separator: "\n") + "\n"
}

/// Every item of a listing (`url` has a query), read page by page in key order, keyed by id
/// as canonical JSON.
func listingByID(_ server: TestServer, _ url: String) async throws -> [String: String] {
    var items: [String: String] = [:]
    for offset in stride(from: 0, to: 1_000_000, by: 1000) {
        let page = try array(try await server.request("GET", url + "&order=id&limit=1000&offset=\(offset)"))
        for item in page { items[String(describing: item["id"] ?? "")] = try canonical(item) }
        if page.count < 1000 { break }
    }
    return items
}

@Suite struct MigrationFeedTests {
    @Test(arguments: 1...6)
    func bandsResumedAfterAMigrationHoldWhatTheListingReturns(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let first = try await TestServer.start(sql: schema, progressInterval: .milliseconds(20))
        var snapshots: [(query: String, items: [String: String])] = []
        let since: Int
        do {
            for index in 0..<30 {
                let body = #"{"title":"t\#(index)","priority":\#(Int.random(in: 1...5, using: &random)),"done":\#(Bool.random(using: &random))}"#
                _ = try await first.request("POST", "/tasks", json: body)
            }
            since = Int(try await first.request("GET", "/tasks?limit=1").header("X-Change-Seq") ?? "") ?? -1
            for query in bands {
                let snapshot = try await first.request("GET", "/tasks?\(query)&limit=1000")
                #expect(Int(snapshot.header("X-Change-Seq") ?? "") == since)
                snapshots.append((query, try keyed(snapshot)))
            }
        } catch {
            await first.stop()
            throw error
        }
        await first.stop(removingFiles: false)
        let backfill = Int.random(in: 200...400, using: &random)
        let sql = randomMigration(&random, backfill: backfill)
        try sql.write(toFile: first.migrations + "/0002_data.sql", atomically: true, encoding: .utf8)

        let server = try await TestServer.restart(first)
        do {
            try await verify(server, seed: seed, since: since, snapshots: snapshots, backfill: backfill, sql: sql)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// Follows each band from the snapshot's seq to the head and compares it with the listing.
    private func verify(
        _ server: TestServer, seed: UInt64, since: Int, snapshots: [(query: String, items: [String: String])], backfill: Int, sql: String
    ) async throws {
        let head = Int(try await server.request("GET", "/tasks?limit=1").header("X-Change-Seq") ?? "") ?? -1
        #expect(head >= since + 1 + backfill, "seed \(seed): the log's head did not move with the migration")
        for (index, snapshot) in snapshots.enumerated() {
            let transport = BandTransport.allCases[(index + Int(seed)) % BandTransport.allCases.count]
            let follower = try await transport.follow(port: server.port, collection: "tasks", query: snapshot.query, since: since)
            var copy = snapshot.items
            var last = since
            for _ in 0..<5_000 where last < head {
                let message = try await follower.next()
                switch message.kind {
                case "subscribed": continue
                case "ready", "progress": last = max(last, message.seq)
                case "change":
                    last = message.seq
                    let id = message.data["id"] as? String ?? ""
                    switch message.data["op"] as? String {
                    case "create", "enter", "update": copy[id] = try canonical(message.data["item"] ?? NSNull())
                    default: copy[id] = nil
                    }
                default: Issue.record("seed \(seed): unexpected \(message.kind) \(message.data)")
                }
            }
            follower.close()
            #expect(last >= head, "seed \(seed), \(transport), \(snapshot.query): stopped at \(last) of \(head)")
            let listing = try await listingByID(server, "/tasks?\(snapshot.query)")
            #expect(copy == listing, "seed \(seed), \(transport), \(snapshot.query)\n\(sql)")
        }
        // Rows written after a schema change carry it: the triggers were made anew after the
        // column was added and after the table was created.
        let labels = try array(try await server.request("GET", "/labels?limit=1000")).count
        let logged = try await changes(server, since: since, count: head - since)
        #expect(logged.filter { $0.collection == "labels" && $0.op == "create" }.count == labels && labels > 0, "seed \(seed)")
        #expect(logged.contains { $0.item["note"] as? String == "b" }, "seed \(seed)")
    }

    private func keyed(_ response: HTTPResponse) throws -> [String: String] {
        var items: [String: String] = [:]
        for item in try array(response) { items[String(describing: item["id"] ?? "")] = try canonical(item) }
        return items
    }
}
