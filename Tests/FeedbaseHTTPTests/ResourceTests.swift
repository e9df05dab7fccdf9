// End-to-end over a real socket: the CRUD contract of a collection, conditional requests, and
// every error status with its problem+json body. The connection itself (limits, timeouts,
// pipelining, malformed HTTP, faults) is in ProtocolTests.

import FeedbaseModel
@testable import FeedbaseSQLite
import Foundation
import Testing

@Suite struct ResourceTests {
    @Test(arguments: Engine.available) func indexAndHealth(engine: Engine) async throws {
        try await withServer(engine) { server in
            let index = try await server.request("GET", "/")
            #expect(index.status == 200 && index.header("Content-Type") == "application/json; charset=utf-8")
            let names = (try object(index)["collections"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["comments", "projects", "tasks"])
            let health = try await server.request("GET", "/_health")
            #expect(health.status == 200 && health.text == #"{"status":"ok"}"#)
        }
    }

    @Test(arguments: Engine.available) func createReadReplacePatchDeleteATask(engine: Engine) async throws {
        try await withServer(engine) { server in
            let project = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            #expect(project.status == 201 && project.header("Location") == "/projects/1")

            let created = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"Paint","due":"2026-12-01T10:00:00+01:00","tags":["a"]}"#)
            #expect(created.status == 201)
            #expect(created.header("Location") == "/tasks/1")
            let etag = try #require(created.header("ETag"))
            let item = try object(created)
            #expect(item["due"] as? String == "2026-12-01T09:00:00.000Z")
            #expect(item["done"] as? Bool == false)

            let read = try await server.request("GET", "/tasks/1")
            #expect(read.status == 200 && read.header("ETag") == etag && read.body == created.body)
            let head = try await HTTPConnection(port: server.port)
            let headResponse = try await head.request("HEAD", "/tasks/1")
            #expect(headResponse.status == 200 && headResponse.body.isEmpty)
            #expect(headResponse.header("Content-Length") == String(read.body.count))
            let notModified = try await server.request("GET", "/tasks/1", headers: [("If-None-Match", "W/" + etag)])
            #expect(notModified.status == 304 && notModified.body.isEmpty && notModified.header("ETag") == etag)

            let replaced = try await server.request("PUT", "/tasks/1", json: #"{"project_id":1,"title":"Paint the fence"}"#)
            #expect(replaced.status == 200)
            let replacedItem = try object(replaced)
            #expect(replacedItem["title"] as? String == "Paint the fence" && replacedItem["due"] is NSNull)
            #expect(replaced.header("ETag") != etag)

            let putCreated = try await server.request("PUT", "/tasks/77", json: #"{"id":77,"project_id":1,"title":"Chosen id"}"#)
            #expect(putCreated.status == 201 && putCreated.header("Location") == "/tasks/77")
            let mismatch = try await server.request("PUT", "/tasks/78", json: #"{"id":79,"project_id":1,"title":"x"}"#)
            #expect(mismatch.status == 422 && pointers(mismatch) == ["/id"])

            let patched = try await server.request(
                "PATCH", "/tasks/1", headers: [("Content-Type", "application/merge-patch+json")],
                json: #"{"done":true,"tags":{"colour":"red","size":{"w":1}}}"#)
            #expect(patched.status == 200)
            let merged = try await server.request(
                "PATCH", "/tasks/1", headers: [("Content-Type", "application/merge-patch+json")],
                json: #"{"tags":{"size":{"h":2},"colour":null}}"#)
            let tags = try object(merged)["tags"] as? [String: Any]
            #expect(tags?["colour"] == nil && (tags?["size"] as? [String: Int]) == ["w": 1, "h": 2])
            #expect(merged.header("ETag") == ETag.of(merged.body))

            let keyChange = try await server.request("PATCH", "/tasks/1", json: #"{"id":2}"#)
            #expect(keyChange.status == 422 && pointers(keyChange) == ["/id"])
            let nullTitle = try await server.request("PATCH", "/tasks/1", json: #"{"title":null}"#)
            #expect(nullTitle.status == 422 && pointers(nullTitle) == ["/title"])
            let sameKey = try await server.request("PATCH", "/tasks/1", json: #"{"id":1}"#)
            #expect(sameKey.status == 200 && sameKey.body == merged.body)

            #expect(try await server.request("DELETE", "/tasks/1").status == 204)
            #expect(try await server.request("GET", "/tasks/1").status == 404)
            #expect(try await server.request("DELETE", "/tasks/1").status == 404)
            #expect(try await server.request("PATCH", "/tasks/1", json: "{}").status == 404)
        }
    }

    @Test(arguments: Engine.available) func conditionalWritesCheckTheCurrentETag(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            let etag = try #require(try await server.request("GET", "/projects/1").header("ETag"))
            let stale = try await server.request("PATCH", "/projects/1", headers: [("If-Match", #""0000000000000000""#)], json: #"{"archived":true}"#)
            #expect(stale.status == 412 && stale.header("ETag") == etag)
            let fresh = try await server.request("PATCH", "/projects/1", headers: [("If-Match", etag)], json: #"{"archived":true}"#)
            #expect(fresh.status == 200)
            let newTag = try #require(fresh.header("ETag"))
            #expect(try await server.request("DELETE", "/projects/1", headers: [("If-Match", etag)]).status == 412)
            #expect(try await server.request("PUT", "/projects/1", headers: [("If-None-Match", "*")], json: #"{"name":"Again"}"#).status == 412)
            #expect(try await server.request("PUT", "/projects/2", headers: [("If-Match", "*")], json: #"{"name":"New"}"#).status == 412)
            #expect(try await server.request("PUT", "/projects/2", headers: [("If-None-Match", "*")], json: #"{"name":"New"}"#).status == 201)
            #expect(try await server.request("DELETE", "/projects/1", headers: [("If-Match", newTag)]).status == 204)
            // If-None-Match compares weakly (RFC 9110 §13.1.2) on writes as on GET: a W/ tag
            // of the current representation matches it.
            let current = try #require(try await server.request("GET", "/projects/2").header("ETag"))
            let weak = try await server.request("PUT", "/projects/2", headers: [("If-None-Match", "W/" + current)], json: #"{"name":"Newer"}"#)
            #expect(weak.status == 412 && weak.header("ETag") == current, "\(weak.text)")
            let listed = try await server.request("PATCH", "/projects/2", headers: [("If-None-Match", #""0000000000000000", W/"# + current)], json: #"{"name":"Newer"}"#)
            #expect(listed.status == 412)
            #expect(try await server.request("DELETE", "/projects/2", headers: [("If-None-Match", "W/" + current)]).status == 412)
            #expect(try await server.request("GET", "/projects/2").header("ETag") == current)
            // If-Match stays strong: a weak tag never matches.
            #expect(try await server.request("PATCH", "/projects/2", headers: [("If-Match", "W/" + current)], json: #"{"name":"Newer"}"#).status == 412)
            // The ETag changes with the representation and only with it.
            let first = try await server.request("GET", "/projects/2").header("ETag")
            let unchanged = try await server.request("PATCH", "/projects/2", json: #"{"name":"New"}"#)
            #expect(unchanged.header("ETag") == first)
        }
    }

    @Test(arguments: Engine.available) func twoConcurrentPatchesWithTheSameIfMatchOneWins(engine: Engine) async throws {
        try await withServer(engine) { server in
            for round in 0..<20 {
                _ = try await server.request("POST", "/projects", json: #"{"name":"p\#(round)"}"#)
                let etag = try #require(try await server.request("GET", "/projects/\(round + 1)").header("ETag"))
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for writer in 0..<2 {
                        group.addTask {
                            try await server.request("PATCH", "/projects/\(round + 1)", headers: [("If-Match", etag)],
                                json: #"{"description":"writer \#(writer)"}"#).status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.sorted() == [200, 412], "round \(round): \(statuses)")
            }
        }
    }

    /// A string holding an escaped NUL is refused like any invalid value: 422 with the pointer
    /// of that string, whether it is a column, inside a JSON column, or in one item of a bulk
    /// create (escapes in keys are decoded for the pointer).
    @Test(arguments: Engine.available) func aStringHoldingNULIsRefusedWithItsPointer(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            let cases: [(String, String, String)] = [
                ("POST", "/projects", #"{"name":"a\u0000b"}"#),
                ("PATCH", "/projects/1", #"{"description":"ok","na\u006de":"\u0000"}"#),
                ("POST", "/tasks", #"{"project_id":1,"title":"x","tags":["a",{"k~/":"b\u0000"}]}"#),
                ("POST", "/projects", #"[{"name":"fine"},{"name":"\\u0000 is fine, this is not: \u0000"}]"#),
            ]
            let expected = ["/name", "/name", "/tags/1/k~0~1", "/1/name"]
            for ((method, target, json), pointer) in zip(cases, expected) {
                let response = try await server.request(method, target, json: json)
                #expect(response.status == 422 && response.header("Content-Type") == "application/problem+json", "\(response.text)")
                #expect(pointers(response) == [pointer], "\(json): \(response.text)")
            }
            #expect(try array(try await server.request("GET", "/projects")).count == 1)
        }
    }

    @Test(arguments: Engine.available) func bulkCreateIsAllOrNothing(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            let good = try await server.request("POST", "/tasks", json: #"[{"project_id":1,"title":"a"},{"project_id":1,"title":"b"}]"#)
            #expect(good.status == 201)
            #expect((try array(good)).count == 2)
            let invalid = try await server.request("POST", "/tasks",
                json: #"[{"project_id":1,"title":"c"},{"project_id":1,"title":"d"},{"project_id":1,"title":"e"},{"project_id":1}]"#)
            #expect(invalid.status == 422 && pointers(invalid) == ["/3/title"])
            let conflict = try await server.request("POST", "/projects", json: #"[{"name":"x"},{"name":"y"},{"name":"Home"}]"#)
            #expect(conflict.status == 409 && pointers(conflict) == ["/2/name"])
            let orphan = try await server.request("POST", "/tasks", json: #"[{"project_id":1,"title":"f"},{"project_id":9,"title":"g"}]"#)
            #expect(orphan.status == 422)
            let notObjects = try await server.request("POST", "/tasks", json: #"[{"project_id":1,"title":"h"}, 5]"#)
            #expect(notObjects.status == 400 && pointers(notObjects) == ["/1"])
            #expect((try await array(server.request("GET", "/tasks"))).count == 2)
            #expect((try await array(server.request("GET", "/projects"))).count == 1)
            let empty = try await server.request("POST", "/tasks", json: "[]")
            #expect(empty.status == 201 && empty.text == "[]")
        }
    }

    @Test(arguments: Engine.available) func idsArePercentEncodedInLocationsAndDecodedInPaths(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"t"}"#)
            let comment = try await server.request("POST", "/comments", json: #"{"id":"a/b c?é","task_id":1,"body":"hi"}"#)
            #expect(comment.status == 201 && comment.header("Location") == "/comments/a%2Fb%20c%3F%C3%A9")
            let read = try await server.request("GET", "/comments/a%2Fb%20c%3F%C3%A9")
            #expect(read.status == 200)
            #expect(try object(read)["id"] as? String == "a/b c?é")
            let generated = try await server.request("POST", "/comments", json: #"{"task_id":1,"body":"auto"}"#)
            let id = try #require(try object(generated)["id"] as? String)
            #expect(id.count == 36 && generated.header("Location") == "/comments/" + id)
            #expect(try await server.request("GET", "/tasks/abc").status == 404)
        }
    }

    @Test(arguments: Engine.available) func everyErrorIsAProblemWithItsStatus(engine: Engine) async throws {
        try await withServer(engine, maxBodySize: 4096) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            let cases: [(HTTPResponse, Int, String)] = [
                (try await server.request("POST", "/tasks", json: #"{"title":"#), 400, "not valid JSON"),
                (try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"x","colour":"red"}"#), 400, "does not accept"),
                (try await server.request("POST", "/tasks", json: #""just a string""#), 400, "must be a JSON object"),
                (try await server.request("GET", "/tasks?limit=5000"), 400, "limit"),
                (try await server.request("GET", "/tasks?after=garbage"), 400, "after"),
                (try await server.request("GET", "/tasks?nope=eq.1"), 400, "nope"),
                (try await server.request("GET", "/nothing"), 404, "GET / lists"),
                (try await server.request("GET", "/_migrations"), 404, "nothing at"),
                (try await server.request("GET", "/tasks/999"), 404, "no item"),
                (try await server.request("DELETE", "/tasks"), 405, "allowed"),
                (try await server.request("POST", "/tasks", headers: [("Content-Type", "text/plain")], json: "{}"), 415, "Content-Type"),
                (try await server.request("POST", "/projects", json: #"{"name":"Home"}"#), 409, "name"),
                (try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":""}"#), 422, "constraint"),
                (try await server.request("POST", "/tasks", json: #"{"project_id":5,"title":"x"}"#), 422, "schema"),
                (try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"x","priority":"high","due":"tomorrow","attachment":"%%"}"#), 422, "schema"),
            ]
            for (response, status, detail) in cases {
                #expect(response.status == status, "\(response.text)")
                #expect(response.header("Content-Type") == "application/problem+json")
                let problem = try object(response)
                #expect(problem["status"] as? Int == status && problem["type"] as? String == "about:blank")
                #expect((problem["detail"] as? String)?.contains(detail) == true, "\(response.text)")
                #expect(problem["requestId"] as? String == response.header("X-Request-Id"))
                #expect(!response.text.contains("SELECT") && !response.text.contains("INSERT") && !response.text.contains("BETWEEN"))
            }
            #expect(try await server.request("DELETE", "/tasks").header("Allow") == "GET, HEAD, POST")
            #expect(pointers(cases[11].0) == ["/name"])
            #expect(pointers(cases[12].0) == ["/title"])
            #expect(pointers(cases[13].0) == ["/project_id"])
            #expect(cases[13].0.text.contains("no item 5 in projects"))
            #expect(pointers(cases[14].0) == ["/priority", "/due", "/attachment"])
            let echoed = try await server.request("GET", "/nothing", headers: [("X-Request-Id", "trace-123")])
            #expect(echoed.header("X-Request-Id") == "trace-123" && echoed.text.contains("\"requestId\":\"trace-123\""))
        }
    }

    /// An id that cannot be of the key's type names no item: 404 for every method, PUT included
    /// (which would otherwise create an item under a key no GET can reach).
    @Test(arguments: Engine.available) func idsThatCannotBeKeysAre404ForEveryMethod(engine: Engine) async throws {
        let sql = EngineSQL(
            sqlite: """
                CREATE TABLE days (day DATE PRIMARY KEY, note TEXT);
                CREATE TABLE clocks (at TIME PRIMARY KEY, note TEXT);
                CREATE TABLE moments (at DATETIME PRIMARY KEY, note TEXT);
                CREATE TABLE readings (value REAL PRIMARY KEY, note TEXT);
                CREATE TABLE words (word TEXT PRIMARY KEY, note TEXT);
                """,
            postgres: """
                CREATE TABLE days (day date PRIMARY KEY, note text);
                CREATE TABLE clocks (at time PRIMARY KEY, note text);
                CREATE TABLE moments (at timestamptz(3) PRIMARY KEY, note text);
                CREATE TABLE readings (value double precision PRIMARY KEY, note text);
                CREATE TABLE words (word text COLLATE "C" PRIMARY KEY, note text);
                """)
        try await withServer(engine, schema: sql) { server in
            let unreachable = [
                "/days/0.5", "/days/2026-02-30", "/clocks/25:00:00", "/clocks/12:00", "/moments/yesterday",
                "/readings/nan", "/readings/inf", "/readings/0x10", "/words/a%00b",
            ]
            for path in unreachable {
                for method in ["GET", "PATCH", "DELETE", "PUT"] {
                    let response = try await server.request(method, path, json: method == "PUT" || method == "PATCH" ? #"{"note":"n"}"# : nil)
                    #expect(response.status == 404, "\(method) \(path): \(response.text)")
                    #expect(response.header("Content-Type") == "application/problem+json")
                }
            }
            #expect(try await server.request("PUT", "/days/2026-02-28", json: #"{"note":"n"}"#).status == 201)
            #expect(try await server.request("PUT", "/clocks/12:00:00.5", json: #"{"note":"n"}"#).status == 201)
            let reading = try await server.request("PUT", "/readings/2.5", json: #"{"note":"n"}"#)
            #expect(reading.status == 201 && reading.header("Location") == "/readings/2.5")
            // A date-time key is normalised like a stored value, so any spelling of it finds the item.
            let moment = try await server.request("PUT", "/moments/2026-01-01T10:00:00%2B01:00", json: #"{"note":"n"}"#)
            #expect(moment.status == 201 && moment.header("Location") == "/moments/2026-01-01T09%3A00%3A00.000Z")
            #expect(try await server.request("GET", "/moments/2026-01-01T09:00:00Z").status == 200)
        }
        try await withServer(engine) { server in
            for method in ["GET", "PATCH", "DELETE", "PUT"] {
                let response = try await server.request(method, "/tasks/5.0", json: method == "PUT" || method == "PATCH" ? "{}" : nil)
                #expect(response.status == 404, "\(method) /tasks/5.0: \(response.text)")
            }
        }
    }

    /// Numbers read back as the numbers written: a REAL is written with enough digits to read
    /// back as the same double (and finite), in a JSON column too, in GET and in the feed alike;
    /// a number beyond a 64-bit float's range is refused, and one stored by another program
    /// reads as null rather than as `Inf`, which is not JSON.
    @Test(arguments: Engine.available) func realsReadBackExactlyAndNeverAsInfinities(engine: Engine) async throws {
        try await withServer(engine, schema: everyType) { server in
            let created = try await server.request("POST", "/things",
                json: #"{"ratio":0.30000000000000004,"doc":[0.30000000000000004,{"b":-2.5e-300},0.1]}"#)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.text.contains(#""ratio":0.30000000000000004,"#))
            if engine == .sqlite {
                #expect(created.text.contains(#""doc":[0.30000000000000004,{"b":-2.5e-300},0.1]"#))
            } else {
                // jsonb writes its own text (`-0.000…25`, spaces): the same values, other bytes
                // (docs/SCHEMA.md), so compared parsed.
                let doc = try #require(try object(created)["doc"], "\(created.text)")
                let written = try JSONSerialization.jsonObject(with: Data(#"[0.30000000000000004,{"b":-2.5e-300},0.1]"#.utf8))
                #expect(try canonical(doc) == canonical(written), "\(created.text)")
            }
            for value in ["0.1", "1e300", "-1.7976931348623157e308", "2.2250738585072014e-308", "123456.789"] {
                let response = try await server.request("POST", "/things", json: #"{"ratio":\#(value),"doc":\#(value)}"#)
                #expect(response.status == 201, "\(value): \(response.text)")
                let item = try object(response)
                let ratio = try #require(item["ratio"] as? Double, "\(value): \(response.text)")
                let doc = try #require(item["doc"] as? Double, "\(value): \(response.text)")
                #expect(ratio.isFinite && doc == ratio, "\(value): \(response.text)")
                if abs(ratio) > 1e-300 && abs(ratio) < 1e300 { #expect(ratio == Double(value), "\(value): \(response.text)") }
                if value == "0.1" { #expect(response.text.contains(#""ratio":0.1,"#)) }
            }
            for body in [#"{"ratio":1e999}"#, #"{"doc":-1e999}"#, #"{"doc":[1,{"a":1e400}]}"#, #"[{"doc":{"a":[-1e400]}}]"#] {
                let refused = try await server.request("POST", "/things", json: body)
                #expect(refused.status == 422, "\(body): \(refused.text)")
                #expect(pointers(refused).allSatisfy { $0.hasSuffix("/ratio") || $0.hasSuffix("/doc") }, "\(refused.text)")
            }
            // Pages ordered by a REAL continue after the exact value (a cursor rounded to 0.3
            // would repeat the row whose ratio is 0.3).
            _ = try await server.request("POST", "/things", json: #"{"ratio":0.3}"#)
            let all = try array(try await server.request("GET", "/things?order=ratio&ratio=lt.0.5")).compactMap { $0["id"] as? Int }
            var seen: [Int] = []
            var target = "/things?order=ratio&ratio=lt.0.5&limit=1"
            for _ in 0..<10 {
                let page = try await server.request("GET", target)
                seen += try array(page).compactMap { $0["id"] as? Int }
                guard let link = page.header("Link"), let start = link.firstIndex(of: "<"), let end = link.firstIndex(of: ">") else { break }
                target = String(link[link.index(after: start)..<end])
            }
            #expect(seen == all && all.count == 5, "\(seen) \(all)")

            switch engine {
            case .sqlite:
                let other = try Connection(path: server.directory + "/test.sqlite")
                try other.execute("UPDATE things SET ratio = 1e999, doc = -1e999 WHERE id = 1")
            case .postgres:
                // A double holds infinity. Not jsonb's -1e999: DEFECT (PostgreSQL engine) — a
                // jsonb number beyond a double's range is served as its exact 1000 digits, which
                // JSON parsers that read doubles refuse, where SQLite serves null.
                try await server.foreignWrite(EngineSQL("UPDATE things SET ratio = 'Infinity' WHERE id = 1"))
            }
            let read = try await server.request("GET", "/things/1")
            let item = try object(read)
            #expect(item["ratio"] is NSNull && (engine == .postgres || item["doc"] is NSNull), "\(read.text)")
            let events = try await changes(server, since: 0, count: 20)
            let update = try #require(events.last)
            #expect(update.op == "update" && update.item["ratio"] is NSNull, "\(events)")
            // The feed writes each item as GET does, digit for digit.
            let log = try await server.request("GET", "/_changes?since=0&limit=1")
            #expect(log.text.contains(#""item":\#(created.text),"#), "\(log.text)")
        }
    }

    /// A CHECK failure names its columns, never its SQL, in a bulk create too (SQLite's message
    /// is `CHECK constraint failed: length(title) BETWEEN 1 AND 200`).
    @Test(arguments: Engine.available) func constraintFailuresNameColumnsWithoutSQL(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"Home"}"#)
            let cases: [(String, String, [String])] = [
                ("/tasks", #"{"project_id":1,"title":""}"#, ["/title"]),
                ("/tasks", #"[{"project_id":1,"title":"ok"},{"project_id":1,"title":""}]"#, ["/1/title"]),
                ("/tasks", #"[{"project_id":1,"title":"ok","priority":9}]"#, ["/0/priority"]),
                ("/tasks", #"[{"project_id":7,"title":"ok"}]"#, ["/0/project_id"]),
                ("/projects", #"[{"name":"a"},{"name":"Home"}]"#, ["/1/name"]),
            ]
            for (path, body, expected) in cases {
                let response = try await server.request("POST", path, json: body)
                #expect([409, 422].contains(response.status) && pointers(response) == expected, "\(body): \(response.text)")
                for leak in ["CHECK", "constraint failed", "length(", "BETWEEN", "FOREIGN KEY", "UNIQUE", "tasks.", "projects."] {
                    #expect(!response.text.contains(leak), "\(body): \(response.text)")
                }
            }
            #expect(try array(try await server.request("GET", "/tasks")).isEmpty)
        }
    }

}

// MARK: Helpers

func object(_ response: HTTPResponse) throws -> [String: Any] {
    guard let value = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
        throw HTTPTestClientError(message: "not a JSON object: \(response.text)")
    }
    return value
}

func array(_ response: HTTPResponse) throws -> [[String: Any]] {
    guard let value = try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] else {
        throw HTTPTestClientError(message: "not a JSON array of objects: \(response.text)")
    }
    return value
}

/// The JSON pointers of a problem's errors, in order.
func pointers(_ response: HTTPResponse) -> [String] {
    ((try? object(response))?["errors"] as? [[String: Any]])?.compactMap { $0["pointer"] as? String } ?? []
}

