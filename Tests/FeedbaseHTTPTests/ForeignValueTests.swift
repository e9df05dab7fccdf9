// Values other programs write, end to end: the stock sqlite3 shell stores odd values (text in a
// boolean, 2 in a boolean, text that is not JSON in a JSON column, text in a BLOB column, reals
// in an integer column, BLOBs in every column, infinities, bad timestamps) and each reads by its type's rule
// (docs/SCHEMA.md, "Values other programs write"); listings, access rules and bands all decide on
// the value as read. The randomized oracle: over many seeds, every operator on every column,
// the listing, the single GETs, a model of the read rule and of `eq`/`neq`/`in`/`is`, the read
// rules, and bands on every transport (a copy kept by a band's messages equals the listing at
// every seq) must agree.

import FeedbaseAuth
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct ForeignValueTests {
    /// Examples/secured, as the walk-through serves it.
    static let secured = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/secured")

    /// The issue's repro: bob's note, not shared, made `shared = 'false'` (or `'no'`, `''`) by
    /// another program reads as `"shared":false`, and the anonymous rule `shared=is.true` must
    /// hide it, from GET, listings and bands alike; `'yes'` shares it.
    @Test(arguments: ["'false'", "'no'", "''", "'0'", "'off'"])
    func aTextBooleanThatReadsFalseIsHiddenByARuleOnTrue(stored: String) async throws {
        let sql = try String(contentsOf: Self.secured.appendingPathComponent("migrations/0001_notes.sql"), encoding: .utf8)
        let rules = try AccessRules.parse(String(contentsOf: Self.secured.appendingPathComponent("rules.conf"), encoding: .utf8), file: "rules.conf")
        try await withServer(sql: sql, progressInterval: .milliseconds(20), configure: { $0.rules = rules }) { server in
            let bob = try await server.bearer(role: "user", subject: "bob")
            #expect(try await server.request("POST", "/notes", headers: bob, json: #"{"owner":"bob","title":"private"}"#).status == 201)
            #expect(try await server.request("POST", "/notes", headers: bob, json: #"{"owner":"bob","title":"public","shared":true}"#).status == 201)
            let band = try await BandTransport.serverSentEvents.follow(port: server.port, collection: "notes", query: "select=id,shared", since: 0)
            try await server.sqlite3("UPDATE notes SET shared = \(stored) WHERE id = 1")

            let mine = try await server.request("GET", "/notes/1", headers: bob)
            #expect(try object(mine)["shared"] as? Bool == false)
            #expect(try await server.request("GET", "/notes/1").status == 404)
            #expect(try array(try await server.request("GET", "/notes")).compactMap { $0["id"] as? Int } == [2])
            #expect(try array(try await server.request("GET", "/notes?shared=is.true")).compactMap { $0["id"] as? Int } == [2])
            #expect(try array(try await server.request("GET", "/notes?shared=is.false", headers: bob)).compactMap { $0["id"] as? Int } == [1])
            #expect(try array(try await server.request("GET", "/notes?shared=eq.true", headers: bob)).compactMap { $0["id"] as? Int } == [2])

            // The anonymous band holds note 2 only: the shell's update is nothing to it.
            var held: Set<String> = []
            let head = Int(try await server.request("GET", "/notes").header("X-Change-Seq") ?? "") ?? -1
            for _ in 0..<50 {
                let message = try await band.next()
                if message.kind == "change" {
                    let id = message.data["id"] as? String ?? ""
                    if ["create", "enter", "update"].contains(message.data["op"] as? String) { held.insert(id) } else { held.remove(id) }
                }
                if message.seq >= head && message.kind != "subscribed" { break }
            }
            #expect(held == ["2"])
            band.close()

            // A word that reads as true shares it.
            try await server.sqlite3("UPDATE notes SET shared = 'Yes' WHERE id = 1")
            #expect(try object(try await server.request("GET", "/notes/1"))["shared"] as? Bool == true)
            #expect(try array(try await server.request("GET", "/notes?shared=is.true")).compactMap { $0["id"] as? Int } == [1, 2])
        }
    }

    /// Paging through a listing ordered by a column of odd values (infinities, reals of 17
    /// digits, text in a number column, bad timestamps) visits every row exactly once, in
    /// either direction.
    @Test(arguments: ["n", "r", "d", "tm", "code", "b", "s"])
    func pagesOrderedByAColumnOfOddValuesVisitEveryRowOnce(column: String) async throws {
        try await withServer(sql: OddValues.sql) { server in
            let values = try #require(OddValues.column(column)).stored.map(\.sql)
            // Each value twice, so that equal sort values meet at page boundaries.
            let rows = (values + values).enumerated().map { "INSERT INTO v (id, \(column)) VALUES (\($0.offset + 1), \($0.element));" }
            try await server.sqlite3(rows.joined(separator: "\n"))
            for direction in ["asc", "desc"] {
                var seen: [Int] = []
                var target = "/v?order=\(column).\(direction)&limit=2&select=id"
                for _ in 0..<100 {
                    let response = try await server.request("GET", target)
                    #expect(response.status == 200, "\(column).\(direction): \(response.text)")
                    seen += try array(response).compactMap { $0["id"] as? Int }
                    guard let link = response.header("Link"), let start = link.firstIndex(of: "<"), let end = link.firstIndex(of: ">") else { break }
                    target = String(link[link.index(after: start)..<end])
                }
                #expect(seen.sorted() == Array(1...rows.count), "\(column).\(direction): \(seen)")
            }
        }
    }

    /// Each stored value reads as the JSON its type's rule gives, by GET and in a listing, and
    /// a feed event carries the same item.
    @Test func everyOddValueReadsByItsColumnTypesRule() async throws {
        try await withServer(sql: OddValues.sql, progressInterval: .milliseconds(20)) { server in
            let count = OddValues.columns.map(\.stored.count).max() ?? 0
            var statements: [String] = []
            for row in 0..<count {
                let values = OddValues.columns.map { $0.stored[row % $0.stored.count].sql }
                statements.append("INSERT INTO v (id, \(OddValues.columns.map(\.name).joined(separator: ", "))) VALUES (\(row + 1), \(values.joined(separator: ", ")));")
            }
            try await server.sqlite3(statements.joined(separator: "\n"))
            let listing = try array(try await server.request("GET", "/v?limit=1000"))
            #expect(listing.count == count)
            let events = try await changes(server, since: 0, count: count)
            for row in 0..<count {
                let item = try object(try await server.request("GET", "/v/\(row + 1)"))
                for column in OddValues.columns {
                    let stored = column.stored[row % column.stored.count]
                    #expect(try canonical(item[column.name] ?? "missing") == canonical(OddValues.value(stored.reads)), "\(column.name) = \(stored.sql)")
                }
                #expect(try canonical(item) == canonical(listing[row]))
                #expect(try canonical(item) == canonical(events[row].item), "the create event of row \(row + 1)")
            }
        }
    }

    /// BLOBs another program stores as keys of a text-keyed table: the trigger logs them, each
    /// reads as `{"base64": …}`, and paging by the key (limit 1) visits every row once (BLOBs
    /// after text, by their bytes).
    @Test func pagesByATextKeyHoldingBLOBsVisitEveryRowOnce() async throws {
        try await withServer(sql: "CREATE TABLE c (id TEXT PRIMARY KEY, body TEXT);", progressInterval: .milliseconds(20)) { server in
            try await server.sqlite3("INSERT INTO c VALUES ('a', '1'), (x'41', '2'), ('b', '3'), (x'', '4'), (x'0001', '5');")
            for direction in ["asc", "desc"] {
                var bodies: [String] = []
                var target = "/c?order=id.\(direction)&limit=1"
                for _ in 0..<20 {
                    let response = try await server.request("GET", target)
                    #expect(response.status == 200, "\(direction): \(response.text)")
                    bodies += try array(response).compactMap { $0["body"] as? String }
                    guard let link = response.header("Link"), let start = link.firstIndex(of: "<"), let end = link.firstIndex(of: ">") else { break }
                    target = String(link[link.index(after: start)..<end])
                }
                #expect(bodies == (direction == "asc" ? ["1", "3", "4", "5", "2"] : ["2", "5", "4", "3", "1"]), "\(direction)")
            }
            let listing = try array(try await server.request("GET", "/c?order=body"))
            #expect(try canonical(listing.map { $0["id"] ?? "missing" }) == canonical(["a", ["base64": "QQ=="], "b", ["base64": ""], ["base64": "AAE="]]))
            let events = try await changes(server, since: 0, count: 5)
            #expect(try events.map { try canonical($0.item) } == listing.map { try canonical($0) })
        }
    }

    /// The issue's repro for BLOBs: another program stores one in an integer column while the
    /// feed is on. The change-log trigger takes it (plain SQL logs its hex), GET reads it as
    /// `{"base64": …}`, and /_changes and a band (a BLOB sorts after every number, so
    /// `priority=gt.3` holds) carry the same item.
    @Test func aBLOBInAnIntegerColumnIsWrittenReadAndCarriedByTheFeed() async throws {
        let sql = "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT NOT NULL, priority INTEGER);"
        try await withServer(sql: sql, progressInterval: .milliseconds(20)) { server in
            #expect(try await server.request("POST", "/tasks", json: #"{"title":"a","priority":1}"#).status == 201)
            let band = try await BandTransport.serverSentEvents.follow(port: server.port, collection: "tasks", query: "priority=gt.3", since: 0)
            try await server.sqlite3("UPDATE tasks SET priority = x'0001' WHERE id = 1")

            let item = try object(try await server.request("GET", "/tasks/1"))
            #expect(try canonical(item["priority"] ?? "missing") == canonical(["base64": "AAE="]))
            #expect(try array(try await server.request("GET", "/tasks?priority=gt.3")).compactMap { $0["id"] as? Int } == [1])
            #expect(try array(try await server.request("GET", "/tasks?priority=eq.1")).isEmpty)
            let events = try await changes(server, since: 0, count: 2)
            #expect(events.map(\.op) == ["create", "update"])
            #expect(try canonical(events[1].item) == canonical(item))

            var entered: [String: Any]?
            for _ in 0..<20 {
                let message = try await band.next()
                if message.kind == "change", message.data["op"] as? String == "enter" {
                    entered = message.data["item"] as? [String: Any]
                    break
                }
            }
            #expect(try canonical(entered ?? [:]) == canonical(item))
            band.close()
        }
    }
}
