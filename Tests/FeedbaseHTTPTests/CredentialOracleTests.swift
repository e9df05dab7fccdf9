// The credentials oracle, randomized over many seeds: subscribers on every transport (an SSE
// band, a WebSocket band, /_changes long-polls read as they come, and for an admin the firehose
// over SSE and WebSocket) with API keys and JWTs whose
// fate is drawn: revoked during the run, expiring during it (while a stream is open and while a
// long-poll waits), expiring however far in the future (the year 2400, 9999, Int64.max, an `exp`
// of 1e300), or never. An admin writes rows of random owners meanwhile. Every subscriber must
// receive only rows it may read; one whose credentials ended must get the end (SSE
// `unauthorized`, WebSocket 4401, a long-poll's 401) and nothing written after it; any other must
// receive every row it may read, in order; REST must refuse the ended credentials; and the server
// must live through all of it.

import FeedbaseAuth
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct CredentialOracleTests {
    enum Fate: CustomStringConvertible {
        case revoked(atStep: Int)
        case expiring(at: Int64)
        case far(Int64)
        case endless

        var description: String {
            switch self {
            case .revoked(let step): "revoked at step \(step)"
            case .expiring(let at): "expiring at \(at)"
            case .far(let at): "expiring at \(at)"
            case .endless: "never expiring"
            }
        }

        var ends: Bool {
            switch self {
            case .revoked, .expiring: true
            case .far, .endless: false
            }
        }
    }

    /// What one follower received, made Sendable to come back from its reading task.
    struct Outcome: Sendable {
        var changes: [(seq: Int, owner: String, title: String)] = []
        /// "final" (it reached its final row), "unauthorized", or what went wrong.
        var end = ""
    }

    struct Unchecked<Value>: @unchecked Sendable { let value: Value }

    enum Transport: CustomStringConvertible {
        case band(BandTransport)
        case firehoseEvents, firehoseSocket

        var description: String {
            switch self {
            case .band(let transport): "a \(transport) band"
            case .firehoseEvents: "the SSE firehose"
            case .firehoseSocket: "the WebSocket firehose"
            }
        }

        func follow(port: Int, since: Int, headers: [(String, String)]) async throws -> any BandFollower {
            switch self {
            case .band(let transport): try await CredentialLifeTests.follow(transport, port: port, since: since, headers: headers)
            case .firehoseEvents: try await EventStreamFollower(port: port, collection: "_feed", query: "", since: since, headers: headers)
            case .firehoseSocket: try await FirehoseSocketFollower(port: port, since: since, headers: headers)
            }
        }
    }

    /// `/_feed?since=N` as a WebSocket: events, and `ready`/`progress` messages by their type; a
    /// close frame is an error naming its code.
    final class FirehoseSocketFollower: BandFollower {
        let connection: HTTPConnection

        init(port: Int, since: Int, headers: [(String, String)]) async throws {
            connection = try await HTTPConnection(port: port, timeout: .seconds(60))
            let head = try await connection.upgradeToWebSocket("/_feed?since=\(since)", headers: headers)
            guard head.status == 101 else { throw HTTPTestClientError(message: "upgrade refused: \(head.status)") }
        }

        func next() async throws -> (kind: String, seq: Int, data: [String: Any]) {
            while true {
                let frame = try await connection.nextFrame()
                if frame.opcode == 9 || frame.opcode == 10 { continue }
                guard frame.opcode == 1 else { throw HTTPTestClientError(message: "frame \(frame.opcode) (close \(frame.closeCode ?? 0))") }
                let data = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any] ?? [:]
                return (data["type"] as? String ?? "change", data["seq"] as? Int ?? -1, data)
            }
        }

        func close() { connection.close() }
    }

    /// Reads `follower` until the final row for `subject` (any, for an admin) or the end.
    static func read(_ follower: any BandFollower, subject: String?) async -> Outcome {
        var outcome = Outcome()
        do {
            for _ in 0..<10_000 {
                let message = try await follower.next()
                if message.kind == "unauthorized" {
                    outcome.end = "unauthorized"
                    return outcome
                }
                guard message.kind == "change" else { continue }
                let item = message.data["item"] as? [String: Any] ?? [:]
                let owner = item["owner"] as? String ?? "?"
                let title = item["title"] as? String ?? "?"
                outcome.changes.append((message.seq, owner, title))
                if title == "final" && (subject == nil || owner == subject) {
                    outcome.end = "final"
                    return outcome
                }
            }
            outcome.end = "too many messages"
        } catch {
            let text = "\(error)"
            outcome.end = text.contains("close 4401") || text.contains("page: 401") ? "unauthorized" : "error: \(text)"
        }
        return outcome
    }

    @Test(arguments: Engine.available, 1...16)
    func noEventReachesASubscriberAfterItsCredentialsEndAndTheServerLives(engine: Engine, seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        try await AccessMatrixTests.start(engine) { server in
            let admin = try await server.bearer(role: "admin", subject: "root")
            let start = TestJWT.now
            struct Subscriber {
                var name: String
                var subject: String?  // nil: the admin
                var fate: Fate
                var token: String
                var transport: Transport
                var since = 0
                var reading: Task<Outcome, Never>?
            }
            var subscribers: [Subscriber] = []
            let expiry = start + Int64.random(in: 3...4, using: &random)
            for index in 0..<4 {
                let subject = [nil, "alice", "bob"].randomElement(using: &random)!
                let role = subject == nil ? "admin" : "user"
                let isKey = Bool.random(using: &random)
                var fates: [Fate] = [.expiring(at: expiry), .endless]
                fates.append(.far(isKey ? [CredentialLifeTests.year2400, RFC3339.latest, Int64.max].randomElement(using: &random)! : CredentialLifeTests.year2400))
                if isKey { fates.append(.revoked(atStep: Int.random(in: 1...10, using: &random))) }
                let fate = fates.randomElement(using: &random)!
                let token: String
                var exp: Int64?
                switch fate {
                case .expiring(let at), .far(let at): exp = at
                case .revoked, .endless: exp = nil
                }
                if isKey {
                    token = try await server.apiKey(role: role, subject: subject, expiresAt: exp)
                } else {
                    var extra: [String: Any?] = ["exp": exp.map { $0 as Any } ?? nil]
                    // A JWT's far future may lie past any Int64 too.
                    if case .far = fate, Bool.random(using: &random) { extra["exp"] = [1e18, 1e300].randomElement(using: &random)! }
                    let claims = TestJWT.claims(role: role, subject: subject, extra)
                    token = Bool.random(using: &random) ? try TestJWT.hs256(claims) : try TestJWT.es256(claims)
                }
                var transports = BandTransport.allCases.map(Transport.band)
                if subject == nil { transports += [.firehoseEvents, .firehoseSocket] }
                let transport = transports.randomElement(using: &random)!
                subscribers.append(Subscriber(
                    name: "\(index): \(subject ?? "admin") by \(isKey ? "key" : "JWT") \(fate) on \(transport)", subject: subject, fate: fate,
                    token: token, transport: transport))
            }
            let context = "seed \(seed)"
            // Subscribe, each read in its own task as it comes.
            for index in subscribers.indices {
                let subscriber = subscribers[index]
                let since = try await CredentialLifeTests.head(server, admin)
                subscribers[index].since = since
                let follower: any BandFollower
                do {
                    follower = try await subscriber.transport.follow(port: server.port, since: since, headers: [("Authorization", "Bearer " + subscriber.token)])
                } catch {
                    // On loaded cores the subscription may come after a near expiry: refused
                    // as it should be, it received nothing.
                    guard case .expiring(let at) = subscriber.fate, TestJWT.now >= at, "\(error)".contains("401") else { throw error }
                    subscribers[index].reading = Task { Outcome(changes: [], end: "unauthorized") }
                    continue
                }
                let unchecked = Unchecked(value: follower)
                let subject = subscriber.subject
                subscribers[index].reading = Task { await Self.read(unchecked.value, subject: subject) }
            }

            // The writes: (seq, owner). Revocations at their steps; once, a wait past the expiry.
            var writes: [(seq: Int, owner: String)] = []
            var endSeq: [Int: Int] = [:]
            let expiryStep = Int.random(in: 2...9, using: &random)
            func write(_ owner: String, _ title: String) async throws {
                let created = try await server.request("POST", "/notes", headers: admin, json: #"{"owner":"\#(owner)","title":"\#(title)"}"#)
                #expect(created.status == 201, "\(context): \(created.text)")
                writes.append((try #require(Int(created.header("X-Change-Seq") ?? "")), owner))
            }
            for step in 0..<12 {
                for (index, subscriber) in subscribers.enumerated() {
                    guard case .revoked(let at) = subscriber.fate, at == step else { continue }
                    #expect(try await server.revokeAPIKey(token: subscriber.token))
                    await server.app.reloadKeys()  // what the server's own timer does within 250 ms
                    endSeq[index] = writes.last?.seq ?? subscriber.since
                }
                if step == expiryStep {
                    try await CredentialLifeTests.waitUntil("the expiry passed") { TestJWT.now > expiry }
                    for (index, subscriber) in subscribers.enumerated() {
                        if case .expiring = subscriber.fate { endSeq[index] = writes.last?.seq ?? subscriber.since }
                    }
                }
                try await write(["alice", "bob", "public", "dave"].randomElement(using: &random)!, "step \(step)")
            }
            try await write("alice", "final")
            try await write("bob", "final")

            for (index, subscriber) in subscribers.enumerated() {
                let outcome = await subscriber.reading?.value ?? Outcome()
                let who = "\(context), subscriber \(subscriber.name)"
                let readable = writes.filter { subscriber.subject == nil || $0.owner == subscriber.subject }.map(\.seq).filter { $0 > subscriber.since }
                let seqs = outcome.changes.map(\.seq)
                #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count, "\(who): out of order or repeated: \(seqs)")
                for change in outcome.changes {
                    #expect(subscriber.subject == nil || change.owner == subscriber.subject, "\(who): received a row of \(change.owner)")
                }
                if let end = endSeq[index] {
                    #expect(outcome.end == "unauthorized", "\(who): ended with \(outcome.end)")
                    #expect(seqs.allSatisfy { $0 <= end }, "\(who): received \(seqs.filter { $0 > end }) after its credentials ended at seq \(end)")
                    #expect(seqs == Array(readable.filter { $0 <= seqs.last ?? 0 }), "\(who): missed rows: \(seqs) of \(readable)")
                    let refused = try await server.request("GET", "/notes", headers: [("Authorization", "Bearer " + subscriber.token)])
                    #expect(refused.status == 401, "\(who): REST after the end: \(refused.status)")
                } else {
                    #expect(!subscriber.fate.ends)
                    #expect(outcome.end == "final", "\(who): ended with \(outcome.end)")
                    // Up to its final row (the first final one, for an admin), every row it may read.
                    #expect(seqs == readable.filter { $0 <= seqs.last ?? 0 }, "\(who): received \(seqs), readable \(readable)")
                }
            }
            #expect(try await server.request("GET", "/notes", headers: admin).status == 200, "\(context): the server lives")
        }
    }
}
