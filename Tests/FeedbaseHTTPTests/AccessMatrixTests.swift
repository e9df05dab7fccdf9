// Every action, allowed and denied, for the anonymous, an API key, and JWTs signed HS256 and
// ES256, under row rules: list, count, get, create, bulk create, put, patch, delete, each
// answer checked against a model of the rules. Then every way a token can be wrong, and
// revocation.

import FeedbaseApp
import FeedbaseAuth
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct AccessMatrixTests {
    static let sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL);"
    static let rules = """
        allow read on notes to anon where owner=eq.public
        allow read, create, update, delete on notes to user where owner=eq.$sub
        allow read on notes to viewer
        allow * on notes to admin
        """
    /// The rows every case starts from: id → owner.
    static let owners = [1: "public", 2: "alice", 3: "bob", 4: "carol", 5: "dave"]
    static let seed = "DELETE FROM notes; INSERT INTO notes (id, owner, title) VALUES "
        + owners.sorted { $0.key < $1.key }.map { "(\($0.key), '\($0.value)', 'note \($0.key)')" }.joined(separator: ", ")

    enum Scope { case none, all, owned, publicRows }

    struct Case: CustomStringConvertible {
        var name: String
        var role: String
        var subject: String?
        var credential: String  // anonymous, key, hs256, es256
        var description: String { "\(name) (\(role) by \(credential))" }

        /// The model of the rules above.
        func scope(_ action: String) -> Scope {
            switch (role, action) {
            case ("admin", _): .all
            case ("user", _): .owned
            case ("viewer", "read"): .all
            case ("anon", "read"): .publicRows
            default: .none
            }
        }

        func admits(_ scope: Scope, owner: String) -> Bool {
            switch scope {
            case .none: false
            case .all: true
            case .owned: owner == subject
            case .publicRows: owner == "public"
            }
        }

        var deniedStatus: Int { credential == "anonymous" ? 401 : 403 }

        /// A read or write of one existing row: 404 when it cannot be seen, the collection's
        /// denial when the action is not granted at all, 403 when seen but not this row.
        func status(_ action: String, owner: String, success: Int) -> Int {
            let action = scope(action)
            if action == .none { return deniedStatus }
            if !admits(scope("read"), owner: owner) { return 404 }
            return admits(action, owner: owner) ? success : 403
        }
    }

    static let cases = [
        Case(name: "anonymous", role: "anon", subject: nil, credential: "anonymous"),
        Case(name: "alice", role: "user", subject: "alice", credential: "key"),
        Case(name: "bob", role: "user", subject: "bob", credential: "hs256"),
        Case(name: "carol", role: "user", subject: "carol", credential: "es256"),
        Case(name: "viewer", role: "viewer", subject: "vera", credential: "key"),
        Case(name: "admin", role: "admin", subject: "root", credential: "hs256"),
        Case(name: "stranger", role: "guest", subject: "sam", credential: "es256"),
    ]

    static func start(_ body: (TestServer) async throws -> Void) async throws {
        let rules = try AccessRules.parse(Self.rules, file: "rules.conf")
        let directory = FileManager.default.temporaryDirectory.path
        var failure: (any Error)?
        let configure: (inout AppConfiguration) -> Void = { configuration in
            configuration.rules = rules
            do { try TestJWT.configure(&configuration, directory: directory) } catch { failure = error }
        }
        try await withServer(sql: sql, configure: configure) { server in
            if let failure { throw failure }
            try await body(server)
        }
    }

    static func headers(_ test: Case, _ server: TestServer) async throws -> [(String, String)] {
        switch test.credential {
        case "key": return try await server.bearer(role: test.role, subject: test.subject)
        case "hs256": return [("Authorization", "Bearer " + (try TestJWT.hs256(TestJWT.claims(role: test.role, subject: test.subject))))]
        case "es256": return [("Authorization", "Bearer " + (try TestJWT.es256(TestJWT.claims(role: test.role, subject: test.subject))))]
        default: return []
        }
    }

    @Test(arguments: cases)
    func everyActionAnswersAsTheRulesSay(test: Case) async throws {
        try await Self.start { server in
            let auth = try await Self.headers(test, server)
            func request(_ method: String, _ path: String, json: String? = nil) async throws -> HTTPResponse {
                try await server.request(method, path, headers: auth, json: json)
            }
            func count() async throws -> Int { try Int(await server.sqlite3Scalar("SELECT count(*) FROM notes")) ?? -1 }
            try await server.sqlite3(Self.seed)

            // list and count
            let readable = Self.owners.filter { test.admits(test.scope("read"), owner: $0.value) }.keys.sorted()
            let list = try await request("GET", "/notes?select=id&order=id")
            let counted = try await server.request("GET", "/notes?select=id&limit=1", headers: auth + [("Prefer", "count=exact")])
            if test.scope("read") == .none {
                #expect(list.status == test.deniedStatus, "\(test): list")
                #expect(counted.status == test.deniedStatus, "\(test): count")
            } else {
                #expect(list.status == 200, "\(test): list")
                #expect(try array(list).compactMap { $0["id"] as? Int } == readable, "\(test): list")
                #expect(counted.header("Content-Range")?.hasSuffix("/\(readable.count)") == true, "\(test): count \(counted.header("Content-Range") ?? "")")
            }
            // get: each row, and an absent one
            for (id, owner) in Self.owners {
                let expected = test.scope("read") == .none ? test.deniedStatus : test.admits(test.scope("read"), owner: owner) ? 200 : 404
                #expect(try await request("GET", "/notes/\(id)").status == expected, "\(test): get \(id)")
            }
            #expect(try await request("GET", "/notes/99").status == (test.scope("read") == .none ? test.deniedStatus : 404), "\(test): get absent")

            // create: a row of one's own, someone else's, and both in one bulk request
            let own = test.subject ?? "public"
            for owner in [own, "dave"] {
                try await server.sqlite3(Self.seed)
                let created = try await request("POST", "/notes", json: #"{"owner":"\#(owner)","title":"new"}"#)
                let expected = test.scope("create") == .none ? test.deniedStatus : test.admits(test.scope("create"), owner: owner) ? 201 : 403
                #expect(created.status == expected, "\(test): create for \(owner)")
                #expect(try await count() == Self.owners.count + (expected == 201 ? 1 : 0), "\(test): create for \(owner)")
            }
            try await server.sqlite3(Self.seed)
            let bulk = try await request("POST", "/notes", json: #"[{"owner":"\#(own)","title":"a"},{"owner":"dave","title":"b"}]"#)
            let bulkAllowed = test.admits(test.scope("create"), owner: own) && test.admits(test.scope("create"), owner: "dave")
            #expect(bulk.status == (test.scope("create") == .none ? test.deniedStatus : bulkAllowed ? 201 : 403), "\(test): bulk")
            #expect(try await count() == Self.owners.count + (bulkAllowed ? 2 : 0), "\(test): bulk is all or nothing")

            // patch, put (replace) and delete of every row; a patch that gives one's row away
            for (id, owner) in Self.owners {
                try await server.sqlite3(Self.seed)
                #expect(try await request("PATCH", "/notes/\(id)", json: #"{"title":"changed"}"#).status
                    == test.status("update", owner: owner, success: 200), "\(test): patch \(id)")
                try await server.sqlite3(Self.seed)
                let put = try await request("PUT", "/notes/\(id)", json: #"{"owner":"\#(owner)","title":"replaced"}"#)
                let putDenied = test.scope("update") == .none && test.scope("create") == .none
                #expect(put.status == (putDenied ? test.deniedStatus : test.status("update", owner: owner, success: 200)), "\(test): put \(id)")
                try await server.sqlite3(Self.seed)
                #expect(try await request("DELETE", "/notes/\(id)").status == test.status("delete", owner: owner, success: 204), "\(test): delete \(id)")
                #expect(try await count() == Self.owners.count - (test.status("delete", owner: owner, success: 204) == 204 ? 1 : 0))
            }
            if let subject = test.subject, test.scope("update") == .owned, let mine = Self.owners.first(where: { $0.value == subject })?.key {
                try await server.sqlite3(Self.seed)
                #expect(try await request("PATCH", "/notes/\(mine)", json: #"{"owner":"dave"}"#).status == 403, "\(test): giving a row away")
                #expect(try await server.sqlite3Scalar("SELECT owner FROM notes WHERE id = \(mine)") == subject)
                // PUT of a new id: the create rule decides.
                #expect(try await request("PUT", "/notes/50", json: #"{"owner":"\#(subject)","title":"mine"}"#).status == 201)
                #expect(try await request("PUT", "/notes/51", json: #"{"owner":"dave","title":"theirs"}"#).status == 403)
            }
        }
    }

    @Test func aHiddenRowAndAnAbsentOneAnswerAlike() async throws {
        try await Self.start { server in
            try await server.sqlite3(Self.seed)
            let alice = try await server.bearer(role: "user", subject: "alice")
            for method in ["GET", "PATCH", "DELETE"] {
                let hidden = try await server.request(method, "/notes/3", headers: alice, json: method == "PATCH" ? #"{"title":"x"}"# : nil)
                let absent = try await server.request(method, "/notes/9", headers: alice, json: method == "PATCH" ? #"{"title":"x"}"# : nil)
                #expect(hidden.status == 404 && absent.status == 404, "\(method)")
                #expect(AccessRulesTests.normalized(hidden, id: "3") == AccessRulesTests.normalized(absent, id: "9"), "\(method)")
                #expect(hidden.header("ETag") == nil)
            }
            // If-Match on a hidden row fails as on an absent one, without its ETag.
            let conditional = try await server.request("PATCH", "/notes/3", headers: alice + [("If-Match", "\"abc\"")], json: #"{"title":"x"}"#)
            #expect(conditional.status == 412)
            #expect(conditional.header("ETag") == nil)
        }
    }

    @Test func everyWrongTokenIsA401WithInvalidToken() async throws {
        try await Self.start { server in
            let now = TestJWT.now
            let valid = TestJWT.claims(role: "admin", subject: "root")
            let tokens: [(String, String)] = [
                ("expired", try TestJWT.hs256(TestJWT.claims(role: "admin", subject: "root", ["exp": now - 10]))),
                ("not yet valid", try TestJWT.es256(TestJWT.claims(role: "admin", subject: "root", ["nbf": now + 600]))),
                ("wrong audience", try TestJWT.hs256(TestJWT.claims(role: "admin", subject: "root", ["aud": "someone-else"]))),
                ("wrong issuer", try TestJWT.es256(TestJWT.claims(role: "admin", subject: "root", ["iss": "https://evil.test"]))),
                ("tampered HS256", TestJWT.tampered(try TestJWT.hs256(valid))),
                ("tampered ES256", TestJWT.tampered(try TestJWT.es256(valid))),
                ("another secret", try TestJWT.hs256(valid, secret: "another-secret-of-at-least-32-bytes!")),
                ("another key", try TestJWT.es256(valid, key: .init())),
                ("unknown API key", "fbk_" + String(repeating: "A", count: 43)),
                ("garbage", "not-a-token"),
            ]
            for (name, token) in tokens {
                let response = try await server.request("GET", "/notes", headers: [("Authorization", "Bearer " + token)])
                #expect(response.status == 401, "\(name)")
                #expect(response.header("WWW-Authenticate")?.hasPrefix(#"Bearer realm="feedbase", error="invalid_token""#) == true, "\(name): \(response.header("WWW-Authenticate") ?? "")")
                #expect(response.header("Content-Type") == "application/problem+json", "\(name)")
            }
            // Not a Bearer token at all: 401 without an error code (RFC 6750 §3.1).
            let basic = try await server.request("GET", "/notes", headers: [("Authorization", "Basic dXNlcjpwYXNz")])
            #expect(basic.status == 401)
            #expect(basic.header("WWW-Authenticate") == #"Bearer realm="feedbase""#)
            // The valid ones pass.
            #expect(try await server.request("GET", "/notes", headers: [("Authorization", "Bearer " + (try TestJWT.hs256(valid)))]).status == 200)
            #expect(try await server.request("GET", "/notes", headers: [("Authorization", "Bearer " + (try TestJWT.es256(valid)))]).status == 200)
        }
    }

    @Test func aRevokedOrExpiredKeyIsRefusedAtOnce() async throws {
        try await Self.start { server in
            let token = try await server.apiKey(role: "admin", subject: "root")
            let auth = [("Authorization", "Bearer " + token)]
            #expect(try await server.request("GET", "/notes", headers: auth).status == 200)
            let id = try #require(try await server.store.apiKeys().first { $0.hash == APIKeyToken.hash(token) }?.id)
            #expect(try await server.store.revokeAPIKey(id: id))
            await server.app.reloadKeys()
            let refused = try await server.request("GET", "/notes", headers: auth)
            #expect(refused.status == 401)
            #expect(refused.text.contains("revoked"))

            let expired = try await server.bearer(role: "admin", expiresAt: TestJWT.now - 1)
            #expect(try await server.request("GET", "/notes", headers: expired).status == 401)
        }
    }
}

extension TestServer {
    /// One value from the stock sqlite3 shell.
    func sqlite3Scalar(_ sql: String) async throws -> String {
        let shell = try await ChildProcess.run(
            "/usr/bin/env", ["sqlite3", "-cmd", ".timeout 5000", database, sql], environment: ProcessInfo.processInfo.environment)
        return shell.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
