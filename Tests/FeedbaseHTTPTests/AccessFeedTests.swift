// The feed obeys the read rules: randomized, many subscribers with different identities and
// bands on every transport while an admin (and the sqlite3 shell) creates rows, hands them from
// one owner to another and deletes them. Two oracles: each subscriber's REST listing (its copy
// must equal it at every seq reached), and a model of the rules written here (the listing must
// hold exactly the admin's rows that the model admits; every item a subscriber receives must
// be one the model admits, and a delete or leave only for a row it held).

import FeedbaseAuth
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

struct Subscriber {
    var name: String
    var role: String
    var subject: String?
    var headers: [(String, String)]

    /// The rules below, as a model: what this identity may read.
    func admits(_ row: [String: Any]) -> Bool {
        switch role {
        case "admin": true
        case "user": subject != nil && row["owner"] as? String == subject
        case "anon": row["level"] as? Int == 0
        default: false
        }
    }
}

@Suite struct AccessFeedTests {
    static let sql = """
        CREATE TABLE docs (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, level INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX docs_owner ON docs (owner);
        """
    static let rules = """
        allow read on docs to anon where level=eq.0
        allow read on docs to user where owner=eq.$sub
        allow * on docs to admin
        """
    static let owners = ["alice", "bob", "carol", "dave"]
    static let titles = ["alpha", "beta", "apex", "gamma"]
    static let bands = ["", "level=gte.1", "title=like.a*", "owner=eq.alice", "owner=in.(bob,carol)&level=lt.2"]

    @Test(arguments: 1...12)
    func noSubscriberReceivesARowItMayNotReadAndEachCopyEqualsItsRESTView(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let rules = try AccessRules.parse(Self.rules, file: "rules.conf")
        try await withServer(sql: Self.sql, progressInterval: .milliseconds(20), configure: { $0.rules = rules }) { server in
            let admin = Subscriber(name: "admin", role: "admin", subject: nil, headers: try await server.bearer(role: "admin"))
            var identities = [admin, Subscriber(name: "anon", role: "anon", subject: nil, headers: [])]
            for owner in Self.owners.dropLast() {
                identities.append(Subscriber(name: owner, role: "user", subject: owner, headers: try await server.bearer(role: "user", subject: owner)))
            }
            func randomRow(_ random: inout SeededGenerator) -> String {
                #"{"owner":"\#(Self.owners.randomElement(using: &random)!)","title":"\#(Self.titles.randomElement(using: &random)!)","level":\#(Int.random(in: 0...2, using: &random))}"#
            }
            for _ in 0..<12 { #expect(try await server.request("POST", "/docs", headers: admin.headers, json: randomRow(&random)).status == 201) }

            struct Follower {
                var who: Subscriber
                var band: String
                var transport: BandTransport
                var stream: any BandFollower
                var copy: [String: String]
                var since: Int
                var views: [(seq: Int, items: [String: String])] = []
            }
            var followers: [Follower] = []
            for _ in 0..<6 {
                let who = identities.randomElement(using: &random)!
                let band = Self.bands.randomElement(using: &random)!
                let transport = BandTransport.allCases.randomElement(using: &random)!
                let snapshot = try await server.request("GET", "/docs?\(band)&limit=1000", headers: who.headers)
                #expect(snapshot.status == 200, "seed \(seed): \(who.name) \(band): \(snapshot.text)")
                var copy: [String: String] = [:]
                for item in try array(snapshot) {
                    #expect(who.admits(item), "seed \(seed): \(who.name)'s listing holds \(item)")
                    copy[String(describing: item["id"] ?? "")] = try canonical(item)
                }
                let since = Int(snapshot.header("X-Change-Seq") ?? "") ?? -1
                let stream = try await transport.follow(port: server.port, collection: "docs", query: band, since: since, headers: who.headers)
                followers.append(Follower(who: who, band: band, transport: transport, stream: stream, copy: copy, since: since))
            }

            // Random writes; after each, every follower's REST view (checked against the model).
            for step in 0..<30 {
                let ids = try array(try await server.request("GET", "/docs?select=id&limit=1000", headers: admin.headers)).compactMap { $0["id"] as? Int }
                let id = ids.randomElement(using: &random) ?? 1
                switch Int.random(in: 0..<8, using: &random) {
                case 0: _ = try await server.request("POST", "/docs", headers: admin.headers, json: randomRow(&random))
                case 1: _ = try await server.request("POST", "/docs", headers: admin.headers, json: "[\(randomRow(&random)),\(randomRow(&random))]")
                case 2, 3:
                    _ = try await server.request("PATCH", "/docs/\(id)", headers: admin.headers, json: #"{"owner":"\#(Self.owners.randomElement(using: &random)!)"}"#)
                case 4: _ = try await server.request("PATCH", "/docs/\(id)", headers: admin.headers, json: #"{"level":\#(Int.random(in: 0...2, using: &random))}"#)
                case 5: _ = try await server.request("DELETE", "/docs/\(id)", headers: admin.headers)
                case 6: try await server.sqlite3("UPDATE docs SET owner = '\(Self.owners.randomElement(using: &random)!)' WHERE id % 3 = \(step % 3)")
                default: try await server.sqlite3("DELETE FROM docs WHERE id = \(id); INSERT INTO docs (owner, title, level) VALUES ('bob', 'apex', 0)")
                }
                for index in followers.indices {
                    let follower = followers[index]
                    let view = try await server.request("GET", "/docs?\(follower.band)&limit=1000", headers: follower.who.headers)
                    let all = try await server.request("GET", "/docs?\(follower.band)&limit=1000", headers: admin.headers)
                    var items: [String: String] = [:]
                    for item in try array(view) { items[String(describing: item["id"] ?? "")] = try canonical(item) }
                    var admitted: [String: String] = [:]
                    for item in try array(all) where follower.who.admits(item) { admitted[String(describing: item["id"] ?? "")] = try canonical(item) }
                    // The same snapshot only when no write came between the two reads (the shell
                    // is not running now, and neither is REST): their seqs say so.
                    if view.header("X-Change-Seq") == all.header("X-Change-Seq") {
                        #expect(items == admitted, "seed \(seed): \(follower.who.name)'s listing of \(follower.band) is not the model's")
                    }
                    followers[index].views.append((Int(view.header("X-Change-Seq") ?? "") ?? -1, items))
                }
            }
            let end = try await server.request("POST", "/docs", headers: admin.headers, json: randomRow(&random))
            let endSeq = Int(end.header("X-Change-Seq") ?? "") ?? -1

            for follower in followers {
                let context = "seed \(seed): \(follower.who.name) on \(follower.transport) following '\(follower.band)'"
                // Deletes and leaves carry the row as it was: one the subscriber could read.
                try await replayBand(
                    follower.stream, copy: follower.copy, since: follower.since, endSeq: endSeq, checkThrough: endSeq - 1,
                    views: follower.views, context: context, strictRemovals: true
                ) { op, item in
                    let row = item as? [String: Any] ?? [:]
                    #expect(follower.who.admits(row), "\(context): \(op) of a row it may not read: \(row)")
                }
            }
        }
    }
}
