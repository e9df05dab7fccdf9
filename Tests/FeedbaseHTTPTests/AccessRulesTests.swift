// The rules file: its grammar, its checks against the schema at startup (file and line), and
// what rules mean for the anonymous role, end to end over a socket.

import FeedbaseApp
import FeedbaseAuth
import FeedbaseHTTP
import FeedbaseModel
import FeedbaseSQLite
import Foundation
import Testing

@Suite struct AccessRulesTests {
    static let sql = """
        CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, level INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        """

    @Test func aRuleListsActionsCollectionsRolesAndConditions() throws {
        let rules = try AccessRules.parse("""
            # comment
            allow read, create on notes, tags to anon, user where owner=eq.$sub&level=lt.3 check *   # trailing
            allow * on * to admin

            allow delete on notes to * where title=eq.$$literal&owner=in.($claims.org,x)
            """, file: "rules.conf")
        #expect(rules.rules.count == 3)
        let first = rules.rules[0]
        #expect(first.line == 2)
        #expect(first.actions == [.read, .create])
        #expect(first.collections == ["notes", "tags"])
        #expect(first.roles == ["anon", "user"])
        #expect(first.condition == [
            Filter(column: "owner", op: .eq, operand: .value("$sub")), Filter(column: "level", op: .lt, operand: .value("3")),
        ])
        #expect(first.check == [])
        #expect(rules.rules[1].actions == Set(AccessRules.Action.allCases))
        #expect(rules.rules[1].collections == nil)
        #expect(rules.rules[2].roles == nil)
        #expect(rules.rules[2].line == 5)
    }

    @Test(arguments: [
        ("read on notes to anon", 1, "starts with 'allow'"),
        ("allow read notes to anon", 1, "expected: allow ACTIONS"),
        ("allow reed on notes to anon", 1, "unknown action 'reed'"),
        ("\nallow read on notes to anon where", 2, "'where' needs conditions"),
        ("allow read on notes to anon check *", 1, "'check' applies to create and update only"),
        ("allow read on notes to anon where owner=equals.x", 1, "owner: expected an operator"),
        ("allow read on notes to anon where owner=eq.$user", 1, "unknown placeholder '$user'"),
        ("allow read on notes to anon where order=eq.1", 1, "'order' is not a condition"),
        ("allow update on notes to anon check * where owner=eq.x", 1, "'where' comes before 'check'"),
    ])
    func aMalformedRuleNamesItsLine(text: String, line: Int, message: String) {
        #expect {
            _ = try AccessRules.parse(text, file: "r.conf")
        } throws: { error in
            guard let error = error as? RulesError else { return false }
            return error.line == line && error.description.hasPrefix("r.conf:\(line): ") && error.message.contains(message)
        }
    }

    @Test(arguments: [
        ("allow read on notez to anon", "no collection named 'notez'"),
        ("allow read on notes to anon where nope=eq.1", "notes has no column 'nope'"),
        ("allow read on notes to anon where level=eq.high", "'high' is not an integer"),
        ("allow read on * to anon where title=eq.x", "tags has no column 'title'"),
        ("allow read on notes to anon where level=like.x*", "like needs a text column"),
        ("allow read on notes to user where owner=eq.$sub\nallow read on notes to * where level=eq.1", "lines 1 and 2 both give role 'user' read on notes"),
    ])
    func rulesThatDoNotFitTheSchemaStopTheStart(text: String, message: String) async throws {
        let rules = try AccessRules.parse(text, file: "rules.conf")
        await #expect {
            try await withServer(sql: Self.sql, configure: { $0.rules = rules }) { _ in }
        } throws: { error in
            guard let error = error as? RulesError else { return false }
            return error.description.hasPrefix("rules.conf:") && error.message.contains(message)
        }
    }

    @Test func aServerWithoutRulesRefusesANonLoopbackAddressUnlessPublic() async throws {
        await #expect {
            try await withServer(sql: Self.sql, configure: { $0.server.host = "0.0.0.0" }) { _ in }
        } throws: { error in
            (error as? AppError)?.description.contains("--public") == true
        }
        // With --public it serves (on every address; the test talks to loopback).
        let open: (inout AppConfiguration) -> Void = { configuration in
            configuration.server.host = "0.0.0.0"
            configuration.publicAccess = true
        }
        try await withServer(sql: Self.sql, configure: open) { server in
            let response = try await server.request("GET", "/notes")
            #expect(response.status == 200)
        }
        // With rules it serves too, without --public.
        let rules = try AccessRules.parse("allow read on notes to anon", file: "rules.conf")
        let ruled: (inout AppConfiguration) -> Void = { configuration in
            configuration.server.host = "0.0.0.0"
            configuration.rules = rules
        }
        try await withServer(sql: Self.sql, configure: ruled) { server in
            let response = try await server.request("GET", "/notes")
            #expect(response.status == 200)
        }
    }

    @Test func theAnonymousRoleGetsWhatItsRulesAllowAndA401ForTheRest() async throws {
        let rules = try AccessRules.parse("""
            allow read on notes to anon where level=eq.0
            allow create on notes to anon where owner=eq.guest
            """, file: "rules.conf")
        try await withServer(sql: Self.sql, configure: { $0.rules = rules }) { server in
            try await server.sqlite3("INSERT INTO notes (owner, title, level) VALUES ('a', 'open', 0), ('b', 'closed', 1), ('c', 'open too', 0)")
            let list = try await server.request("GET", "/notes?select=id&order=id", headers: [("Prefer", "count=exact")])
            #expect(list.status == 200)
            #expect(list.text == #"[{"id":1},{"id":3}]"#)
            #expect(list.header("Content-Range") == "0-1/2")
            #expect(try await server.request("GET", "/notes/1").status == 200)
            let hidden = try await server.request("GET", "/notes/2")
            let absent = try await server.request("GET", "/notes/9")
            #expect(hidden.status == 404 && absent.status == 404)
            #expect(Self.normalized(hidden, id: "2") == Self.normalized(absent, id: "9"))
            // A filter cannot reach past the rule.
            #expect(try await server.request("GET", "/notes?level=eq.1").text == "[]")

            let mine = try await server.request("POST", "/notes", json: #"{"owner":"guest","title":"hello"}"#)
            #expect(mine.status == 201)
            let theirs = try await server.request("POST", "/notes", json: #"{"owner":"a","title":"forged"}"#)
            #expect(theirs.status == 403)
            #expect(theirs.header("Content-Type") == "application/problem+json")
            // A bulk create with one forbidden item creates nothing.
            let bulk = try await server.request("POST", "/notes", json: #"[{"owner":"guest","title":"x"},{"owner":"a","title":"y"}]"#)
            #expect(bulk.status == 403)
            #expect(bulk.text.contains(#""pointer":"/1""#))
            #expect(try await server.request("GET", "/notes?select=title&title=eq.x").text == "[]")

            for (method, path) in [("PATCH", "/notes/1"), ("DELETE", "/notes/1"), ("GET", "/tags"), ("POST", "/tags")] {
                let denied = try await server.request(method, path, json: method == "PATCH" || method == "POST" ? #"{"title":"t"}"# : nil)
                #expect(denied.status == 401, "\(method) \(path)")
                #expect(denied.header("WWW-Authenticate") == #"Bearer realm="feedbase""#, "\(method) \(path)")
                #expect(denied.header("Content-Type") == "application/problem+json")
            }
            // The firehose is for identities that may read everything.
            #expect(try await server.request("GET", "/_changes").status == 401)
        }
    }

    /// A problem body with the id and the request's own id taken out.
    static func normalized(_ response: HTTPResponse, id: String) -> String {
        var text = response.text.replacingOccurrences(of: "'\(id)'", with: "'ID'").replacingOccurrences(of: "/notes/\(id)", with: "/notes/ID")
        if let range = text.range(of: #""requestId":"[^"]*""#, options: .regularExpression) { text.replaceSubrange(range, with: "") }
        return text
    }
}
