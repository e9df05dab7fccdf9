// The `auth` message, randomized: sockets of several users hold bands while an admin writes and
// each socket's credential is replaced at random (another key or a JWT of the same user, another
// user, a role that reads nothing, a refused token). Oracles: a band ends exactly when the new
// identity's read rule differs from the old one's (with a 403 problem when it reads nothing),
// never otherwise; and each band's copy (snapshot, the band's messages, and after an `ended` a
// fresh listing under the new identity) equals that identity's REST listing at the end.

import FeedbaseAuth
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct SocketAuthOracleTests {
    struct Who: Equatable {
        var role: String
        var subject: String?
    }

    final class Subscription {
        var id: String
        let query: String
        var band = ""
        var copy: [String: NSDictionary] = [:]
        var seq = 0
        var ended: [String: Any]?

        init(id: String, query: String) {
            self.id = id
            self.query = query
        }
    }

    final class Socket {
        let follower: WebSocketFollower
        var who: Who
        var headers: [(String, String)]
        var subscriptions: [Subscription] = []
        var next = 0

        init(follower: WebSocketFollower, who: Who, headers: [(String, String)]) {
            self.follower = follower
            self.who = who
            self.headers = headers
        }

        /// Applies one message to its subscription; returns it.
        func take() async throws -> [String: Any] {
            let message = try await follower.nextJSON()
            let type = message["type"] as? String
            if let op = message["op"] as? String {
                let subscription = try #require(subscriptions.first { $0.band == message["band"] as? String && $0.ended == nil }, "\(message)")
                let id = message["id"] as? String ?? ""
                if op == "delete" || op == "leave" { subscription.copy[id] = nil } else { subscription.copy[id] = message["item"] as? NSDictionary }
                subscription.seq = message["seq"] as? Int ?? -1
            } else if let subscription = subscriptions.first(where: { $0.id == message["id"] as? String }) {
                switch type {
                case "subscribed": subscription.band = message["band"] as? String ?? ""
                case "ready", "progress": subscription.seq = max(subscription.seq, message["seq"] as? Int ?? -1)
                case "ended": subscription.ended = message
                default: Issue.record("unexpected \(message)")
                }
            }
            return message
        }
    }

    static func listing(_ server: TestServer, _ query: String, _ headers: [(String, String)]) async throws -> (status: Int, items: [String: NSDictionary], seq: Int) {
        let response = try await server.request("GET", "/docs?\(query)&limit=1000", headers: headers)
        var items: [String: NSDictionary] = [:]
        if response.status == 200, let array = try JSONSerialization.jsonObject(with: Data(response.body)) as? [NSDictionary] {
            for item in array { items[String(describing: item["id"] ?? "")] = item }
        }
        return (response.status, items, Int(response.header("X-Change-Seq") ?? "") ?? -1)
    }

    /// A listing under the socket's identity, then its band from the listing's seq.
    static func subscribe(_ socket: Socket, _ query: String, _ server: TestServer) async throws {
        let (status, items, seq) = try await listing(server, query, socket.headers)
        guard status == 200 else { return }
        socket.next += 1
        let subscription = Subscription(id: "s\(socket.next)", query: query)
        subscription.copy = items
        subscription.seq = seq
        socket.subscriptions.append(subscription)
        try await socket.follower.send(["type": "subscribe", "id": subscription.id, "url": "/docs?\(query)", "since": seq])
    }

    static let queries = ["", "level=gte.1", "title=like.a*", "owner=eq.alice"]

    @Test(arguments: Engine.available, 1...4)
    func bandsEndExactlyWhenTheReadRuleChangesAndEveryCopyEqualsItsListing(engine: Engine, seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        try await SocketAuthTests.start(engine) { server in
            let admin = try await server.bearer(role: "admin")
            let owners = ["alice", "bob", "carol"]
            func row(_ random: inout SeededGenerator) -> String {
                #"{"owner":"\#(owners.randomElement(using: &random)!)","title":"\#(["alpha", "beta", "apex"].randomElement(using: &random)!)","level":\#(Int.random(in: 0...2, using: &random))}"#
            }
            for _ in 0..<8 { _ = try await server.request("POST", "/docs", headers: admin, json: row(&random)) }
            let people = owners.map { Who(role: "user", subject: $0) } + [Who(role: "guest", subject: "gil"), Who(role: "admin", subject: "root")]
            func token(_ who: Who, _ random: inout SeededGenerator) async throws -> String {
                if who.role == "user" && Bool.random(using: &random) { return try TestJWT.es256(TestJWT.claims(role: who.role, subject: who.subject)) }
                return try await server.apiKey(role: who.role, subject: who.subject)
            }

            var sockets: [Socket] = []
            for index in 0..<3 {
                let who = people[index]
                let token = try await token(who, &random)
                let socket = Socket(follower: try await SocketAuthTests.socket(server, token: token), who: who, headers: [("Authorization", "Bearer " + token)])
                for query in Self.queries.shuffled(using: &random).prefix(2) { try await Self.subscribe(socket, query, server) }
                sockets.append(socket)
            }
            defer { for socket in sockets { socket.follower.close() } }

            for step in 0..<16 {
                let ids = (try await Self.listing(server, "", admin)).items.keys.compactMap(Int.init)
                switch Int.random(in: 0..<6, using: &random) {
                case 0: _ = try await server.request("POST", "/docs", headers: admin, json: row(&random))
                case 1: _ = try await server.request("PATCH", "/docs/\(ids.randomElement(using: &random) ?? 1)", headers: admin, json: #"{"owner":"\#(owners.randomElement(using: &random)!)"}"#)
                case 2: _ = try await server.request("DELETE", "/docs/\(ids.randomElement(using: &random) ?? 1)", headers: admin)
                default:
                    let socket = sockets.randomElement(using: &random)!
                    let held = socket.subscriptions.count
                    let refused = Int.random(in: 0..<5, using: &random) == 0
                    let who = people.randomElement(using: &random)!
                    let token = refused ? "fbk_" + String(repeating: "y", count: 43) : try await token(who, &random)
                    try await socket.follower.send(["type": "auth", "token": token])
                    var answer: [String: Any] = [:]
                    while answer["type"] as? String != "authenticated" && answer["type"] as? String != "error" { answer = try await socket.take() }
                    let context = "seed \(seed) step \(step): \(socket.who) → \(refused ? "refused" : "\(who)")"
                    let ended = socket.subscriptions.filter { $0.ended != nil }
                    if refused {
                        #expect(answer["type"] as? String == "error" && (answer["problem"] as? [String: Any])?["status"] as? Int == 401, "\(context)")
                        #expect(ended.isEmpty, "\(context)")
                        continue
                    }
                    #expect(answer["type"] as? String == "authenticated", "\(context): \(answer)")
                    // The read rule is the same for the same role and subject (admin: every row; a user: owner=$sub).
                    let same = who.role == socket.who.role && (who.role != "user" || who.subject == socket.who.subject)
                    #expect(ended.count == (same ? 0 : held), "\(context): ended \(ended.map(\.query))")
                    for subscription in ended {
                        let problem = subscription.ended?["problem"] as? [String: Any]
                        #expect((problem?["status"] as? Int) == (who.role == "guest" ? 403 : nil), "\(context): \(subscription.ended ?? [:])")
                    }
                    socket.who = who
                    socket.headers = [("Authorization", "Bearer " + token)]
                    socket.subscriptions.removeAll { $0.ended != nil }
                    for subscription in ended { try await Self.subscribe(socket, subscription.query, server) }
                }
            }

            // A last write; every band reads on to it, then its copy equals the listing under the socket's identity.
            let end = try await server.request("POST", "/docs", headers: admin, json: row(&random))
            let endSeq = Int(end.header("X-Change-Seq") ?? "") ?? -1
            for socket in sockets {
                while socket.subscriptions.contains(where: { $0.seq < endSeq }) { _ = try await socket.take() }
                for subscription in socket.subscriptions {
                    let fresh = try await Self.listing(server, subscription.query, socket.headers)
                    #expect(fresh.status == 200)
                    if fresh.seq == endSeq {
                        #expect(subscription.copy == fresh.items, "seed \(seed): \(socket.who) '\(subscription.query)'")
                    }
                }
            }
        }
    }
}
