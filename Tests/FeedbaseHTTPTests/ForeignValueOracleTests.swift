// The randomized oracle for values other programs write (OddValues): the sqlite3 shell stores
// random odd values in every column of a table of every type, then keeps changing them while
// bands follow random filters (every operator, `not.`, `in` lists, or-groups) on every
// transport, for an admin and for identities whose read rule is a condition on such a column.
// Checked, per seed (printed on failure): every GET reads each value by its type's rule; each
// identity's listing holds exactly the rows its rule admits on the value as read; a listing with
// conditions the model decides (`eq`, `neq`, `in`, `is`) holds exactly the rows the model
// admits, and one the model refuses is a 400; and a band's copy equals its listing at every seq.

import FeedbaseAuth
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct ForeignValueOracleTests {
    static let rules = """
        allow read on v to anon where b=is.true
        allow read on v to user where j=eq.hello
        allow * on v to admin
        """

    struct Identity {
        var name: String
        var headers: [(String, String)]
        /// The rule, as a model over a row as read.
        var admits: ([String: Any]) -> Bool
    }

    @Test(arguments: 1...32)
    func bandsListingsRulesAndGETsAgreeOnOddValues(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let rules = try AccessRules.parse(Self.rules, file: "rules.conf")
        try await withServer(sql: OddValues.sql, progressInterval: .milliseconds(20), configure: { $0.rules = rules }) { server in
            let identities = [
                Identity(name: "admin", headers: try await server.bearer(role: "admin")) { _ in true },
                Identity(name: "anon", headers: []) { $0["b"] as? Bool == true },
                Identity(name: "user", headers: try await server.bearer(role: "user", subject: "u")) { $0["j"] as? String == "hello" },
            ]
            let admin = identities[0]
            // The model of what each row reads as: its stored literal per column.
            var rows: [Int: [String: (sql: String, reads: String)]] = [:]
            func randomRow(_ random: inout SeededGenerator) -> [String: (sql: String, reads: String)] {
                var row: [String: (sql: String, reads: String)] = [:]
                for column in OddValues.columns { row[column.name] = column.stored.randomElement(using: &random)! }
                return row
            }
            func insert(_ id: Int, _ row: [String: (sql: String, reads: String)]) -> String {
                let names = OddValues.columns.map(\.name)
                return "INSERT INTO v (id, \(names.joined(separator: ", "))) VALUES (\(id), \(names.map { row[$0]!.sql }.joined(separator: ", ")));"
            }
            var statements: [String] = []
            for id in 1...12 {
                rows[id] = randomRow(&random)
                statements.append(insert(id, rows[id]!))
            }
            try await server.sqlite3(statements.joined(separator: "\n"))
            var nextID = 13

            func read(_ row: [String: (sql: String, reads: String)], id: Int) -> [String: Any] {
                var item: [String: Any] = ["id": id]
                for (name, value) in row { item[name] = OddValues.value(value.reads) }
                return item
            }
            func randomQuery(_ random: inout SeededGenerator) -> (query: String, conditions: [OddValues.Condition], decided: Bool) {
                let conditions = (0..<Int.random(in: 1...2, using: &random)).map { _ in OddValues.randomCondition(&random) }
                var query = conditions.map(\.query).joined(separator: "&")
                var decided = true
                if Int.random(in: 0..<3, using: &random) == 0 {
                    let members = (0..<Int.random(in: 1...3, using: &random)).map { _ in OddValues.randomCondition(&random) }
                    let text = members.map { "\($0.column).\($0.value)" }.joined(separator: ",")
                    query += "&" + (Bool.random(using: &random) ? "or" : "not.or") + "=" + OddValues.Condition.encode("(" + text + ")")
                    decided = false
                }
                return (query, conditions, decided)
            }

            /// Every check of one moment: GETs, rules, and one decided listing.
            func checkAll(_ context: String) async throws {
                let listing = try array(try await server.request("GET", "/v?limit=1000", headers: admin.headers))
                #expect(listing.count == rows.count, "\(context)")
                for item in listing {
                    guard let id = item["id"] as? Int, let row = rows[id] else {
                        Issue.record("\(context): an unknown row \(item)")
                        continue
                    }
                    for column in OddValues.columns {
                        #expect(try canonical(item[column.name] ?? "missing") == canonical(OddValues.value(row[column.name]!.reads)),
                            "\(context): row \(id) \(column.name) = \(row[column.name]!.sql)")
                    }
                }
                if let id = rows.keys.randomElement(using: &random), let row = rows[id] {
                    let item = try object(try await server.request("GET", "/v/\(id)", headers: admin.headers))
                    #expect(try canonical(item) == canonical(read(row, id: id)), "\(context): GET /v/\(id) = \(row.mapValues(\.sql))")
                }
                for identity in identities.dropFirst() {
                    let seen = Set(try array(try await server.request("GET", "/v?select=id&limit=1000", headers: identity.headers)).compactMap { $0["id"] as? Int })
                    let admitted = Set(rows.filter { identity.admits(read($0.value, id: $0.key)) }.keys)
                    #expect(seen == admitted, "\(context): \(identity.name)'s listing")
                    if let id = rows.keys.randomElement(using: &random) {
                        let status = try await server.request("GET", "/v/\(id)", headers: identity.headers).status
                        #expect(status == (admitted.contains(id) ? 200 : 404), "\(context): \(identity.name) GET /v/\(id) = \(rows[id]!.mapValues(\.sql))")
                    }
                }
                let conditions = (0..<Int.random(in: 1...2, using: &random)).map { _ in OddValues.randomCondition(&random) }
                var invalid = false
                var decided = true
                var expected: Set<Int> = []
                for (id, row) in rows {
                    var all = true
                    for condition in conditions {
                        let verdict = OddValues.model(condition, shown: read(row, id: id)[condition.column] ?? NSNull())
                        decided = decided && verdict.decided
                        invalid = invalid || verdict.invalid
                        all = all && verdict.result == true
                    }
                    if all { expected.insert(id) }
                }
                guard decided else { return }
                let response = try await server.request("GET", "/v?select=id&limit=1000&" + conditions.map(\.query).joined(separator: "&"), headers: admin.headers)
                if invalid {
                    #expect(response.status == 400, "\(context): \(conditions) should be refused")
                } else {
                    #expect(response.status == 200, "\(context): \(conditions): \(response.text)")
                    let listed = Set(try array(response).compactMap { $0["id"] as? Int })
                    #expect(listed == expected, "\(context): \(conditions)")
                }
            }
            try await checkAll("seed \(seed) at the start")

            struct Follower {
                var who: String
                var query: String
                var transport: BandTransport
                var stream: any BandFollower
                var copy: [String: String]
                var since: Int
                var headers: [(String, String)]
                var views: [(seq: Int, items: [String: String])] = []
            }
            var followers: [Follower] = []
            for _ in 0..<4 {
                let who = identities.randomElement(using: &random)!
                let (query, _, _) = randomQuery(&random)
                let transport = BandTransport.allCases.randomElement(using: &random)!
                let snapshot = try await server.request("GET", "/v?\(query)&limit=1000", headers: who.headers)
                guard snapshot.status == 200 else {
                    #expect(snapshot.status == 400, "seed \(seed): \(query): \(snapshot.text)")
                    continue
                }
                var copy: [String: String] = [:]
                for item in try array(snapshot) { copy[String(describing: item["id"] ?? "")] = try canonical(item) }
                let since = Int(snapshot.header("X-Change-Seq") ?? "") ?? -1
                let stream = try await transport.follow(port: server.port, collection: "v", query: query, since: since, headers: who.headers)
                followers.append(Follower(who: who.name, query: query, transport: transport, stream: stream, copy: copy, since: since, headers: who.headers))
            }

            // Random writes by the shell; after each, every follower's REST view and the checks.
            for step in 0..<16 {
                let id = rows.keys.sorted().randomElement(using: &random) ?? 1
                switch Int.random(in: 0..<8, using: &random) {
                case 0:
                    rows[nextID] = randomRow(&random)
                    try await server.sqlite3(insert(nextID, rows[nextID]!))
                    nextID += 1
                case 1:
                    rows[id] = nil
                    try await server.sqlite3("DELETE FROM v WHERE id = \(id)")
                default:
                    guard rows[id] != nil else { continue }
                    var sets: [String] = []
                    for _ in 0..<Int.random(in: 1...3, using: &random) {
                        let column = OddValues.columns.randomElement(using: &random)!
                        let value = column.stored.randomElement(using: &random)!
                        rows[id]![column.name] = value
                        sets.append("\(column.name) = \(value.sql)")
                    }
                    try await server.sqlite3("UPDATE v SET \(sets.joined(separator: ", ")) WHERE id = \(id)")
                }
                for index in followers.indices {
                    let view = try await server.request("GET", "/v?\(followers[index].query)&limit=1000", headers: followers[index].headers)
                    var items: [String: String] = [:]
                    for item in try array(view) { items[String(describing: item["id"] ?? "")] = try canonical(item) }
                    followers[index].views.append((Int(view.header("X-Change-Seq") ?? "") ?? -1, items))
                }
                try await checkAll("seed \(seed) step \(step)")
            }
            let endSeq = Int(try await server.request("GET", "/v?limit=1").header("X-Change-Seq") ?? "") ?? -1

            for follower in followers {
                let context = "seed \(seed): \(follower.who) on \(follower.transport) following '\(follower.query.removingPercentEncoding ?? follower.query)'"
                try await replayBand(
                    follower.stream, copy: follower.copy, since: follower.since, endSeq: endSeq, checkThrough: endSeq,
                    views: follower.views, context: context)
            }
        }
    }
}
