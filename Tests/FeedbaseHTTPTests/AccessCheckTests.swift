// What `where` and `check` mean for writes (docs/API.md, "Rules"): a created row meets `where`
// and `check`; an update finds the row under `where` and leaves it meeting `where` and `check`,
// unless `check *` lets it go anywhere. The Examples/secured repro, then a randomized oracle: a
// random rule with a random `check`, random creates (one, many, PUT of a new id), patches,
// replaces and batches that keep or break each condition, every answer and the table after it
// compared with a model of the rule, many seeds (AccessCheckOracleTests). The repro runs on
// both engines, on the example's own migrations (its postgres/ on PostgreSQL); what
// `feedbase rules` prints comes from the schema model alone, and runs on SQLite.

import FeedbaseApp
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct AccessCheckTests {
    static let securedMigrations = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Examples/secured/migrations").path

    static func withSecured(_ engine: Engine = .sqlite, rules text: String, _ body: (TestServer) async throws -> Void) async throws {
        let rules = try AccessRules.parse(text, file: "rules.conf")
        let (directory, _) = try TestServer.scratch(sql: nil)
        let server = try await TestServer.start(engine: engine, directory: directory, migrations: securedMigrations, configure: { $0.rules = rules })
        do { try await body(server) } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test(arguments: Engine.available)
    func aCheckRuleStillHoldsCreatesToTheirWhere(engine: Engine) async throws {
        let rules = """
            allow read, create, update on notes to user where owner=eq.$sub check shared=is.false
            allow * on notes to admin
            """
        try await Self.withSecured(engine, rules: rules) { server in
            let alice = try await server.bearer(role: "user", subject: "alice")
            func count(_ owner: String) async throws -> String { try await server.foreignScalar(EngineSQL("SELECT count(*) FROM notes WHERE owner = '\(owner)'")) }
            // The repro: a row for bob, made by alice.
            let forged = try await server.request("POST", "/notes", headers: alice, json: #"{"owner":"bob","title":"x","shared":false}"#)
            #expect(forged.status == 403, "\(forged.text)")
            #expect(try await server.request("POST", "/notes", headers: alice, json: #"[{"owner":"alice","title":"a"},{"owner":"bob","title":"x"}]"#).status == 403)
            #expect(try await server.request("PUT", "/notes/70", headers: alice, json: #"{"owner":"bob","title":"x"}"#).status == 403)
            let batch = try await server.request(
                "POST", "/_batch", headers: alice, json: #"[{"op":"create","collection":"notes","body":{"owner":"bob","title":"x"}}]"#)
            #expect(batch.status == 403, "\(batch.text)")
            #expect(try await count("bob") == "0")
            // The check holds besides: her own row, but shared, is refused too.
            #expect(try await server.request("POST", "/notes", headers: alice, json: #"{"owner":"alice","title":"x","shared":true}"#).status == 403)
            let own = try await server.request("POST", "/notes", headers: alice, json: #"{"owner":"alice","title":"mine"}"#)
            #expect(own.status == 201)
            let id = try #require(try object(own)["id"] as? Int)
            // An update cannot hand her row to bob either: the row must stay under `where`.
            #expect(try await server.request("PATCH", "/notes/\(id)", headers: alice, json: #"{"owner":"bob"}"#).status == 403)
            let handOver = try await server.request(
                "POST", "/_batch", headers: alice, json: #"[{"op":"patch","collection":"notes","id":\#(id),"body":{"owner":"bob"}}]"#)
            #expect(handOver.status == 403)
            #expect(try await server.request("PATCH", "/notes/\(id)", headers: alice, json: #"{"title":"renamed"}"#).status == 200)
            #expect(try await count("bob") == "0")
        }
    }

    @Test(arguments: Engine.available)
    func checkStarLetsAnUpdateHandARowOverButNotACreateForgeOne(engine: Engine) async throws {
        try await Self.withSecured(engine, rules: "allow read, create, update on notes to user where owner=eq.$sub check *") { server in
            let alice = try await server.bearer(role: "user", subject: "alice")
            #expect(try await server.request("POST", "/notes", headers: alice, json: #"{"owner":"bob","title":"x"}"#).status == 403)
            let own = try await server.request("POST", "/notes", headers: alice, json: #"{"owner":"alice","title":"mine"}"#)
            let id = try #require(try object(own)["id"] as? Int)
            #expect(try await server.request("PATCH", "/notes/\(id)", headers: alice, json: #"{"owner":"bob"}"#).status == 200)
            #expect(try await server.foreignScalar(EngineSQL("SELECT owner FROM notes WHERE id = \(id)")) == "bob")
        }
    }

    @Test func feedbaseRulesPrintsWhatACreateAndAnUpdateMustMeet() async throws {
        let text = """
            allow read, create, update on notes to user where owner=eq.$sub check shared=is.false
            allow create, update on notes to editor where owner=eq.$sub check *
            """
        try await Self.withSecured(rules: text) { server in
            let printed = AccessPolicy(rules: try AccessRules.parse(text, file: "rules.conf")).describe(server.store.schema)
            #expect(printed.contains("create  rows where owner=eq.$sub&shared=is.false  (line 1)"), "\(printed)")
            #expect(printed.contains("update  rows where owner=eq.$sub, left where owner=eq.$sub&shared=is.false  (line 1)"), "\(printed)")
            #expect(printed.contains("create  rows where owner=eq.$sub  (line 2)"), "\(printed)")
            #expect(printed.contains("update  rows where owner=eq.$sub, left anywhere  (line 2)"), "\(printed)")
        }
    }
}
