// `feedbase serve --db postgres://...` as a user runs it: the binary serves the PostgreSQL engine
// (migrations/postgres applied), a REST write over a socket answers 201, its event is on
// /_changes, a second node over the same database serves the same item and the same feed (a
// long-poll on it is woken by the first node's next write), and SIGTERM stops both cleanly. Skipped, with the reason, where PostgreSQL's binaries are missing.

import FeedbaseTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason ?? "PostgreSQL is available")))
struct ServePostgresTests {
    @Test func servesPostgresAndItsWriteIsOnTheFeedOfEveryNode() async throws {
        let database = try await PostgresCluster.shared().createDatabase()
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let nodeA = try ServeProcess(["--port", "0", "--db", database.url], in: workspace.path)
        let nodeB = try ServeProcess(["--port", "0"], in: workspace.path, environment: ["FEEDBASE_DB": database.url])
        let portA = try await Self.port(of: nodeA), portB = try await Self.port(of: nodeB)

        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(portA)/projects")))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"name":"on PostgreSQL"}"#.utf8)
        let (createdBody, created) = try await URLSession.shared.data(for: request)
        #expect((created as? HTTPURLResponse)?.statusCode == 201, "\(String(decoding: createdBody, as: UTF8.self))")
        let item = try #require(try JSONSerialization.jsonObject(with: createdBody) as? [String: Any])
        let id = try #require(item["id"] as? Int)

        for port in [portA, portB] {
            let (itemBody, read) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)/projects/\(id)")))
            #expect((read as? HTTPURLResponse)?.statusCode == 200 && itemBody == createdBody)
            let (body, response) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)/_changes?since=0")))
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            let changes = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])["changes"] as? [[String: Any]] ?? []
            #expect(changes.map { "\($0["seq"] ?? "") \($0["collection"] ?? "") \($0["op"] ?? "") \($0["id"] ?? "")" } == ["1 projects create \(id)"])
        }
        // A long-poll on node B answers with node A's next write (woken by NOTIFY or the slow poll
        // when it was already waiting).
        let waiting = Task {
            try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(portB)/_changes?since=1&wait=20")))
        }
        var patch = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(portA)/projects/\(id)")))
        patch.httpMethod = "PATCH"
        patch.setValue("application/json", forHTTPHeaderField: "Content-Type")
        patch.httpBody = Data(#"{"archived":true}"#.utf8)
        let (_, patched) = try await URLSession.shared.data(for: patch)
        #expect((patched as? HTTPURLResponse)?.statusCode == 200)
        let started = ContinuousClock.now
        let (woken, _) = try await waiting.value
        let events = try #require(try JSONSerialization.jsonObject(with: woken) as? [String: Any])["changes"] as? [[String: Any]] ?? []
        #expect(events.map { "\($0["seq"] ?? "") \($0["op"] ?? "") \($0["id"] ?? "")" } == ["2 update \(id)"])
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(try await nodeA.stop() == 0)
        #expect(try await nodeB.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: workspace.file("feedbase.sqlite")))
    }

    /// `feedbase keys` on a PostgreSQL URL: a key created beside a running node works there at
    /// once (the node reloads the keys), is listed, and stops working within a bounded wait once
    /// revoked.
    @Test func keysOnPostgresWorkOnARunningNode() async throws {
        let database = try await PostgresCluster.shared().createDatabase()
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let node = try ServeProcess(["--port", "0", "--db", database.url], in: workspace.path)
        let port = try await Self.port(of: node)
        let created = try await run(["keys", "create", "--db", database.url, "--role", "user", "--subject", "42"], in: workspace.path)
        #expect(created.status == 0, "\(created.stderr)")
        let token = String(created.stdout.dropLast())
        #expect(token.hasPrefix("fbk_"))
        let id = try #require(created.stderr.split(separator: " ").dropFirst(4).first.map(String.init))
        let listed = try await run(["keys", "list", "--db", database.url], in: workspace.path)
        #expect(listed.status == 0 && listed.stdout.contains(id) && listed.stdout.contains("user"), "\(listed.stderr)")

        func status(_ token: String) async throws -> Int? {
            var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/projects")))
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            return (try await URLSession.shared.data(for: request).1 as? HTTPURLResponse)?.statusCode
        }
        #expect(try await status(token) == 200)
        #expect(try await status("fbk_" + String(repeating: "a", count: 43)) == 401)
        let revoked = try await run(["keys", "revoke", "--db", database.url, id], in: workspace.path)
        #expect(revoked.status == 0 && revoked.stdout.contains("revoked API key \(id)"), "\(revoked.stderr)")
        let deadline = ContinuousClock.now + .seconds(10)
        var refused = false
        while !refused, ContinuousClock.now < deadline {
            refused = try await status(token) == 401
            if !refused { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(refused, "a revoked key still works after 10 s")
        #expect(try await node.stop() == 0)
    }

    static func port(of server: ServeProcess) async throws -> Int {
        let log = try await server.waitForLog { $0.contains("listening on http://127.0.0.1:") }
        let line = try #require(log.split(separator: "\n").first { $0.contains("listening on") })
        return try #require(Int(line.split(separator: ":").last ?? ""))
    }
}
