// End-to-end over a real socket: `POST /_batch`, operations on several collections in one
// transaction. All or nothing (state and events), consecutive events in operation order, ETag
// preconditions, references to earlier results, access rules per operation, and the problem of
// each kind of mistake with its pointer under the operation's index.

import FeedbaseApp
import FeedbaseHTTP
import Foundation
import Testing

@Suite struct BatchTests {
    /// The change log's head as the HTTP catch-up feed reports it.
    static func head(_ server: TestServer, via target: String = "/_changes?since=0&limit=1", headers: [(String, String)] = []) async throws -> Int {
        let response = try await server.request("GET", target, headers: headers)
        guard response.status == 200, let head = Int(response.header("X-Change-Seq") ?? "") else {
            throw HTTPTestClientError(message: "no head: \(response.status) \(response.text)")
        }
        return head
    }

    static func batch(_ server: TestServer, _ operations: String, headers: [(String, String)] = []) async throws -> HTTPResponse {
        try await server.request("POST", "/_batch", headers: headers, json: operations)
    }

    static func results(_ response: HTTPResponse) throws -> [[String: Any]] {
        guard let results = try object(response)["results"] as? [[String: Any]] else {
            throw HTTPTestClientError(message: "no results: \(response.text)")
        }
        return results
    }

    static func detail(_ response: HTTPResponse) -> String { ((try? object(response))?["detail"] as? String) ?? "" }

    @Test(arguments: Engine.available) func aFailingOperationLeavesNothingAndPublishesNoEvent(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"Paint"}"#)
            let project = try await server.request("GET", "/projects/1")
            let task = try await server.request("GET", "/tasks/1")
            let before = try await Self.head(server)

            let response = try await Self.batch(server, """
                [{"op":"create","collection":"projects","body":{"name":"Work"}},
                 {"op":"patch","collection":"projects","id":1,"body":{"archived":true}},
                 {"op":"put","collection":"tasks","id":1,"body":{"project_id":1,"title":"Paint the fence"}},
                 {"op":"create","collection":"tasks","body":{"project_id":1,"title":"Mow"}},
                 {"op":"create","collection":"tasks","body":{"project_id":1,"title":""}}]
                """)
            #expect(response.status == 422, "\(response.text)")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(pointers(response) == ["/4/body/title"])
            #expect(Self.detail(response).hasPrefix("operation 4 (create tasks)"), "\(Self.detail(response))")

            #expect(try await server.request("GET", "/projects/1").body == project.body)
            #expect(try await server.request("GET", "/tasks/1").body == task.body)
            #expect(try array(try await server.request("GET", "/projects")).count == 1)
            #expect(try array(try await server.request("GET", "/tasks")).count == 1)
            #expect(try await Self.head(server) == before)
            #expect(try await changes(server, since: before, count: 1).isEmpty)
        }
    }

    @Test(arguments: Engine.available) func aBatchsEventsAreConsecutiveInOperationOrder(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"Paint"}"#)
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"Mow"}"#)
            let before = try await Self.head(server)

            let response = try await Self.batch(server, """
                [{"op":"create","collection":"projects","body":{"name":"Work"}},
                 {"op":"patch","collection":"tasks","id":1,"body":{"done":true}},
                 {"op":"delete","collection":"tasks","id":2},
                 {"op":"put","collection":"tasks","id":9,"body":{"project_id":2,"title":"Plan"}},
                 {"op":"put","collection":"projects","id":1,"body":{"name":"House"}}]
                """)
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("Content-Type") == "application/json; charset=utf-8")
            let results = try Self.results(response)
            #expect(results.map { $0["status"] as? Int } == [201, 200, 204, 201, 200])
            #expect((results[0]["body"] as? [String: Any])?["name"] as? String == "Work")
            #expect(results[2]["body"] == nil && results[2]["etag"] == nil)
            // Each result's ETag is the one a GET of the item now gives.
            let task = try await server.request("GET", "/tasks/9")
            #expect(results[3]["etag"] as? String == task.header("ETag"))
            #expect(Int(response.header("X-Change-Seq") ?? "") == before + 5)

            let events = try await changes(server, since: before, count: 5)
            #expect(events.map(\.seq) == Array(before + 1...before + 5))
            #expect(events.map(\.description) == [
                "\(before + 1) create projects/2", "\(before + 2) update tasks/1", "\(before + 3) delete tasks/2",
                "\(before + 4) create tasks/9", "\(before + 5) update projects/1",
            ])
        }
    }

    @Test(arguments: Engine.available) func ifMatchIsCheckedInsideTheBatch(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            let etag = try #require(try await server.request("GET", "/projects/1").header("ETag"))
            let quoted = etag.replacingOccurrences(of: "\"", with: "\\\"")
            let before = try await Self.head(server)

            let stale = try await Self.batch(server, """
                [{"op":"create","collection":"projects","body":{"name":"Work"}},
                 {"op":"patch","collection":"projects","id":1,"ifMatch":"\\"0000000000000000\\"","body":{"archived":true}}]
                """)
            #expect(stale.status == 412, "\(stale.text)")
            #expect(pointers(stale) == ["/1/ifMatch"])
            #expect(stale.header("ETag") == etag)
            #expect(try await Self.head(server) == before)
            #expect(try array(try await server.request("GET", "/projects")).count == 1)

            let current = try await Self.batch(server, """
                [{"op":"patch","collection":"projects","id":1,"ifMatch":"\(quoted)","body":{"archived":true}},
                 {"op":"delete","collection":"projects","id":1,"ifMatch":"\(quoted)"}]
                """)
            // The second operation sees the first's change: its ETag is no longer current.
            #expect(current.status == 412 && pointers(current) == ["/1/ifMatch"], "\(current.text)")
            let patched = try await Self.batch(server, """
                [{"op":"patch","collection":"projects","id":1,"ifMatch":"\(quoted)","body":{"archived":true}}]
                """)
            #expect(patched.status == 200, "\(patched.text)")
            let newTag = try #require(try Self.results(patched).first?["etag"] as? String)
            #expect(try await server.request("GET", "/projects/1").header("ETag") == newTag)
        }
    }

    @Test(arguments: Engine.available) func operationsReferToEarlierResults(engine: Engine) async throws {
        try await withServer(engine) { server in
            let response = try await Self.batch(server, """
                [{"op":"create","collection":"projects","body":{"name":"Garden"}},
                 {"op":"create","collection":"tasks","body":{"title":"Dig","project_id":{"$ref":"/0/id"}}},
                 {"op":"create","collection":"tasks","body":{"title":"Plant","project_id":{"$ref":"/0/id"}}},
                 {"op":"create","collection":"tasks","body":{"title":"Water","project_id":{"$ref":"/0/id"}}},
                 {"op":"create","collection":"comments","body":{"task_id":{"$ref":"/3/id"},"body":{"$ref":"/3/title"}}},
                 {"op":"patch","collection":"tasks","id":{"$ref":"/1/id"},"body":{"done":true}}]
                """)
            #expect(response.status == 200, "\(response.text)")
            let project = try #require(try Self.results(response)[0]["body"] as? [String: Any])
            let projectID = try #require(project["id"] as? Int)
            let tasks = try array(try await server.request("GET", "/tasks?project_id=eq.\(projectID)&order=id"))
            #expect(tasks.map { $0["title"] as? String } == ["Dig", "Plant", "Water"])
            #expect(tasks.map { $0["done"] as? Bool } == [true, false, false])
            let comment = try #require(try Self.results(response)[4]["body"] as? [String: Any])
            #expect(comment["body"] as? String == "Water" && comment["task_id"] as? Int == tasks[2]["id"] as? Int)

            let before = try await Self.head(server)
            let forward = try await Self.batch(server, """
                [{"op":"create","collection":"tasks","body":{"title":"Early","project_id":{"$ref":"/1/id"}}},
                 {"op":"create","collection":"projects","body":{"name":"Later"}}]
                """)
            #expect(forward.status == 422 && pointers(forward) == ["/0/body/project_id/$ref"], "\(forward.text)")
            let missing = try await Self.batch(server, """
                [{"op":"create","collection":"projects","body":{"name":"Later"}},
                 {"op":"create","collection":"tasks","body":{"title":"x","project_id":{"$ref":"/0/nothing"}}}]
                """)
            #expect(missing.status == 422 && pointers(missing) == ["/1/body/project_id/$ref"], "\(missing.text)")
            let deleted = try await Self.batch(server, """
                [{"op":"delete","collection":"tasks","id":1},
                 {"op":"patch","collection":"tasks","id":{"$ref":"/0/id"},"body":{}}]
                """)
            #expect(deleted.status == 422 && pointers(deleted) == ["/1/id/$ref"], "\(deleted.text)")
            #expect(try await Self.head(server) == before)
            #expect(try array(try await server.request("GET", "/projects")).count == 1)
        }
    }

    @Test(arguments: Engine.available) func mistakesAreProblemsThatNameTheOperation(engine: Engine) async throws {
        try await withServer(engine, configure: { $0.server.limits.bulkItems = 3 }) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            let before = try await Self.head(server)
            func expect(_ body: String, _ status: Int, _ expected: [String], _ line: Int = #line) async throws {
                let response = try await Self.batch(server, body)
                #expect(response.status == status, "line \(line): \(response.text)")
                #expect(response.header("Content-Type") == "application/problem+json", "line \(line)")
                #expect(pointers(response) == expected, "line \(line): \(response.text)")
            }
            let create = #"{"op":"create","collection":"projects","body":{"name":"New"}}"#
            try await expect("[\(create),{\"op\":\"create\",\"collection\":\"nope\",\"body\":{}}]", 404, ["/1/collection"])
            try await expect("[\(create),{\"op\":\"upsert\",\"collection\":\"projects\",\"body\":{}}]", 400, ["/1/op"])
            try await expect(#"[{"op":"delete","collection":"projects","id":1,"extra":true}]"#, 400, ["/0/extra"])
            try await expect(#"[{"op":"delete","collection":"projects"}]"#, 400, ["/0/id"])
            try await expect(#"[{"op":"delete","collection":"comments","id":""}]"#, 400, ["/0/id"])
            try await expect(#"[{"op":"delete","collection":"comments","id":0}]"#, 400, ["/0/id"])
            try await expect(#"[{"op":"delete","collection":"projects","id":"1"}]"#, 400, ["/0/id"])
            try await expect(#"[{"op":"create","collection":"projects","body":[]}]"#, 400, ["/0/body"])
            try await expect(#"[{"op":"create","collection":"projects","body":{"name":"x","color":1}}]"#, 400, ["/0/body/color"])
            try await expect("[\(create),\"create\"]", 400, ["/1"])
            try await expect("[\(create),{\"op\":\"delete\",\"collection\":\"projects\",\"id\":42}]", 404, ["/1/id"])
            try await expect(#"[{"op":"create","collection":"projects","body":{"name":"Home"}}]"#, 409, ["/0/body/name"])
            try await expect("[\(create),\(create),\(create),\(create)]", 413, [])
            try await expect("[\(create),", 400, [])
            let notArray = try await Self.batch(server, create)
            #expect(notArray.status == 400, "\(notArray.text)")
            let media = try await server.request("POST", "/_batch", headers: [("Content-Type", "text/plain")], json: "[]")
            #expect(media.status == 415)
            #expect(try await server.request("GET", "/_batch").status == 405)
            #expect(try await Self.head(server) == before)
            #expect(try array(try await server.request("GET", "/projects")).count == 1)

            let empty = try await Self.batch(server, "[]")
            #expect(empty.status == 200 && empty.text == #"{"results":[]}"#)
        }
    }

    // SQLite only: the 507 comes from SQLite's page limit (max_page_count); DiskFullTests.
    @Test func aFullDatabaseAnswers507AndKeepsNothingOfTheBatch() async throws {
        try await withServer(configure: { $0.store.connection.maxDatabaseBytes = 400 * 1024 }) { server in
            let text = String(repeating: "x", count: 2_000)
            var full: HTTPResponse?
            for round in 0..<100 where full == nil {
                let operations = (0..<10).map { #"{"op":"create","collection":"projects","body":{"name":"p\#(round)-\#($0)","description":"\#(text)"}}"# }
                let before = try await Self.head(server)
                let count = try array(try await server.request("GET", "/projects?limit=1000")).count
                let response = try await Self.batch(server, "[" + operations.joined(separator: ",") + "]")
                if response.status == 507 {
                    full = response
                    #expect(try await Self.head(server) == before)
                    #expect(try array(try await server.request("GET", "/projects?limit=1000")).count == count)
                } else {
                    #expect(response.status == 200, "\(response.text)")
                }
            }
            let response = try #require(full, "the database never filled up")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(Self.detail(response).contains("nothing was written"), "\(response.text)")
        }
    }

    @Test(arguments: Engine.available) func eachOperationObeysItsRoutesAccessRules(engine: Engine) async throws {
        let rules = try AccessRules.parse("""
            allow read, create on projects to user
            allow read, create, update on tasks to user
            """, file: "rules.conf")
        try await withServer(engine, configure: { $0.rules = rules }) { server in
            let user = try await server.bearer(role: "user", subject: "alice")
            let allowed = try await Self.batch(server, """
                [{"op":"create","collection":"projects","body":{"name":"Home"}},
                 {"op":"create","collection":"tasks","body":{"title":"t","project_id":{"$ref":"/0/id"}}},
                 {"op":"patch","collection":"tasks","id":{"$ref":"/1/id"},"body":{"done":true}}]
                """, headers: user)
            #expect(allowed.status == 200, "\(allowed.text)")
            // Under rules the whole feed is not this user's to read; a listing carries the head too.
            let before = try await Self.head(server, via: "/tasks?limit=1", headers: user)
            let denied = try await Self.batch(server, """
                [{"op":"create","collection":"projects","body":{"name":"Work"}},
                 {"op":"delete","collection":"tasks","id":1}]
                """, headers: user)
            #expect(denied.status == 403 && pointers(denied) == ["/1"], "\(denied.text)")
            let anonymous = try await Self.batch(server, #"[{"op":"create","collection":"projects","body":{"name":"Work"}}]"#)
            #expect(anonymous.status == 401 && anonymous.header("WWW-Authenticate") != nil, "\(anonymous.text)")
            #expect(try await Self.head(server, via: "/tasks?limit=1", headers: user) == before)
        }
    }
}
