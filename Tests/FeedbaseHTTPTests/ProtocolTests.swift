// End-to-end over a real socket: what the server does with the connection and the request as
// such, whatever the collection: limits on bodies and request targets, idle timeouts, keep-alive
// and pipelining, requests that are not HTTP, a locked database and a server fault.
//
// On both engines where the answer goes through the store: a server fault, writes on one
// kept-alive connection, the filters and lists at their limits (the engine runs them). Bodies,
// idle timeouts and requests that are not HTTP are answered before any store is asked: SQLite
// only. A database locked by another program: SQLite's one write lock, a table lock on
// PostgreSQL; both past the busy timeout (PostgreSQL's lock_timeout) answer 503.

import FeedbaseModel
@testable import FeedbaseSQLite
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite struct ProtocolTests {
    /// Another process holding a lock the write needs past the busy timeout: 503 with
    /// Retry-After, and nothing written; once the lock is gone, writes go through again. Reads
    /// go on meanwhile.
    @Test(arguments: Engine.available) func aLockedDatabaseIs503WithRetryAfterThenWritesResume(engine: Engine) async throws {
        try await withServer(engine, busyTimeoutMilliseconds: 200) { server in
            let release: () async throws -> Void
            if let database = server.postgres {
                let logger = Logger(label: "lock holder")
                let other = try await PostgresConnection.connect(
                    configuration: PostgresConnection.Configuration(
                        host: database.host, port: database.port, username: database.username, password: nil, database: database.name, tls: .disable),
                    id: 1, logger: logger)
                try await other.query("BEGIN", logger: logger)
                try await other.query("LOCK TABLE projects IN EXCLUSIVE MODE", logger: logger)
                release = {
                    try await other.query("ROLLBACK", logger: logger)
                    try await other.close()
                }
            } else {
                let other = try Connection(path: server.directory + "/test.sqlite")
                try other.execute("BEGIN IMMEDIATE")
                release = { try other.execute("ROLLBACK") }
            }
            #expect(try await server.request("GET", "/projects").status == 200)
            let refused = try await server.request("POST", "/projects", json: #"{"name":"while locked"}"#)
            #expect(refused.status == 503 && refused.header("Retry-After") == "1", "\(refused.text)")
            #expect(refused.header("Content-Type") == "application/problem+json")
            #expect((try object(refused)["detail"] as? String)?.contains("busy") == true)
            try await release()
            #expect(try await server.request("POST", "/projects", json: #"{"name":"after"}"#).status == 201)
            let names = try array(try await server.request("GET", "/projects")).compactMap { $0["name"] as? String }
            #expect(names == ["after"])
        }
    }

    /// A real server fault is a 500 problem that names the request id and nothing of SQL; with a
    /// database that cannot be asked, /_health says 503. On SQLite one fault does both: the
    /// database closed under the server. On PostgreSQL a closed pool is a node going away, which
    /// answers 503 as a lost connection does (docs/POSTGRES.md, "Failures"); so the fault there
    /// is another program renaming the table under the server (its SQL then fails, 42P01), and
    /// the pool is closed after it.
    @Test(arguments: Engine.available) func aServerFaultIs500WithoutDetailsAndHealthIs503(engine: Engine) async throws {
        try await withServer(engine) { server in
            #expect(try await server.request("POST", "/projects", json: #"{"name":"one"}"#).status == 201)
            switch engine {
            case .sqlite: await server.resources.close()
            case .postgres: try await server.foreignWrite(EngineSQL(sqlite: "", postgres: "ALTER TABLE projects RENAME TO projects_elsewhere"))
            }
            for (method, target, json) in [("GET", "/projects/1", nil), ("GET", "/projects", nil), ("POST", "/projects", #"{"name":"x"}"#)] {
                let failed = try await server.request(method, target, json: json)
                #expect(failed.status == 500, "\(method) \(target): \(failed.text)")
                #expect(failed.header("Content-Type") == "application/problem+json")
                let problem = try object(failed)
                #expect(problem["requestId"] as? String == failed.header("X-Request-Id"))
                #expect((problem["detail"] as? String)?.contains("the log has the details") == true)
                #expect(!failed.text.lowercased().contains("sql") && !failed.text.contains("closed"))
            }
            if engine == .postgres {
                await server.resources.close()
                let gone = try await server.request("GET", "/projects")
                #expect(gone.status == 503 && gone.header("Retry-After") == "5", "\(gone.text)")
                #expect(!gone.text.lowercased().contains("sql") && !gone.text.contains("closed"))
            }
            let health = try await server.request("GET", "/_health")
            #expect(health.status == 503 && health.text == #"{"status":"unavailable"}"#)
        }
    }

    @Test func hostileBodiesAreRefusedAndTheServerGoesOn() async throws {
        try await withServer(maxBodySize: 1 << 20) { server in
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            #expect(try await server.request("POST", "/projects", json: deep).status == 400)
            let nested = #"{"name":"#  + deep + "}"
            #expect(try await server.request("POST", "/projects", json: nested).status == 400)
            let connection = try await HTTPConnection(port: server.port)
            let invalidUTF8 = try await connection.request("POST", "/projects", headers: [("Content-Type", "application/json")],
                body: Array(#"{"name":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8))
            #expect(invalidUTF8.status == 400 && invalidUTF8.text.contains("UTF-8"))
            let tooLarge = try await server.request("POST", "/projects", json: #"{"name":""# + String(repeating: "x", count: 2 << 20) + #""}"#)
            #expect(tooLarge.status == 413)
            #expect(try await server.request("POST", "/projects", json: #"{"name":"still here"}"#).status == 201)
        }
    }

    @Test func oversizedBodiesGet413WithoutBeingBuffered() async throws {
        try await withServer(maxBodySize: 1000) { server in
            // Declared too large: answered before the body is sent.
            let declared = try await HTTPConnection(port: server.port)
            try await declared.send(Array("POST /projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n".utf8))
            let early = try await declared.readResponse()
            #expect(early.status == 413 && early.header("Connection") == "close")
            #expect(await declared.isClosedByPeer(within: .seconds(5)))
            // Chunked, growing past the limit.
            let chunked = try await HTTPConnection(port: server.port)
            try await chunked.send(Array("POST /projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
            let chunk = String(repeating: "x", count: 600)
            try await chunked.send(Array("258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n".utf8))
            #expect(try await chunked.readResponse().status == 413)
            #expect(try await server.request("GET", "/_health").status == 200)
        }
    }

    @Test func silentAndSlowClientsAreCutOffByTheIdleTimeout() async throws {
        try await withServer(idleTimeout: 1) { server in
            let silent = try await HTTPConnection(port: server.port)
            #expect(await silent.isClosedByPeer(within: .seconds(10)))
            let slow = try await HTTPConnection(port: server.port)
            try await slow.send(Array("POST /projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{".utf8))
            #expect(await slow.isClosedByPeer(within: .seconds(10)))
            // Nothing of the cut-off POST was written. Asked without a socket: with a 1 s idle
            // timeout, a connection of this test's own that a loaded machine left unwritten for
            // a second would rightly be closed too.
            #expect(await server.respond("GET", "/projects").text == "[]")
        }
    }

    @Test(arguments: Engine.available) func keepAliveAndPipelining(engine: Engine) async throws {
        try await withServer(engine) { server in
            let connection = try await HTTPConnection(port: server.port)
            for index in 0..<200 {
                let response = try await connection.request("POST", "/projects", headers: [("Content-Type", "application/json")],
                    body: Array(#"{"name":"p\#(index)"}"#.utf8))
                #expect(response.status == 201)
            }
            // Three requests written at once come back in order on the same connection.
            try await connection.write("GET", "/projects/1")
            try await connection.write("HEAD", "/projects/2")
            try await connection.write("GET", "/projects/3")
            let first = try await connection.readResponse()
            let second = try await connection.readResponse(forHEAD: true)
            let third = try await connection.readResponse()
            #expect((try object(first))["id"] as? Int == 1)
            #expect(second.status == 200 && second.body.isEmpty)
            #expect((try object(third))["id"] as? Int == 3)
        }
    }

    /// A request the HTTP decoder refuses (a control character in a header value) is a
    /// problem+json 400 with a request id, like any other, and the connection then closes.
    @Test func aRequestThatIsNotHTTPIsAProblemToo() async throws {
        try await withServer { server in
            let connection = try await HTTPConnection(port: server.port)
            try await connection.send(Array("GET /_health HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\u{1}b\r\n\r\n".utf8))
            let response = try await connection.readResponse()
            #expect(response.status == 400 && response.header("Content-Type") == "application/problem+json")
            #expect(response.header("Connection") == "close")
            let requestID = try #require(response.header("X-Request-Id"))
            #expect(try object(response)["requestId"] as? String == requestID)
            #expect(await connection.isClosedByPeer(within: .seconds(5)))
            #expect(try await server.request("GET", "/_health").status == 200)
        }
    }

    /// The documented limits (docs/API.md, "Limits") are answered with a problem naming them,
    /// never a 500 or NIO's bare 400, and a connection that may go on does. On both engines:
    /// what is just within them is a statement the engine runs (100 filters and a group of 100,
    /// a list of 1,000 values).
    @Test(arguments: Engine.available) func requestsPastTheLimitsAreProblemsThatNameThem(engine: Engine) async throws {
        try await withServer(engine) { server in
            func check(_ response: HTTPResponse, _ status: Int, _ detail: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
                #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
                #expect(response.header("Content-Type") == "application/problem+json", sourceLocation: sourceLocation)
                let problem = try object(response)
                #expect(problem["status"] as? Int == status, sourceLocation: sourceLocation)
                #expect((problem["detail"] as? String)?.contains(detail) == true, "\(response.text)", sourceLocation: sourceLocation)
                #expect(problem["requestId"] as? String == response.header("X-Request-Id"), sourceLocation: sourceLocation)
            }
            let connection = try await HTTPConnection(port: server.port)
            // Filters: 10 on one column and 200 conditions in all (those in groups included) are
            // fine, one more is not.
            let columns = ["id", "project_id", "priority", "estimate", "title", "done", "due", "created_at", "tags", "attachment"]
            let values = ["id": "gt.0", "project_id": "gt.0", "priority": "not.is.null", "estimate": "is.null", "title": "neq.x",
                "done": "is.false", "due": "is.null", "created_at": "not.is.null", "tags": "is.null", "attachment": "is.null"]
            let hundred = columns.flatMap { column in (0..<10).map { _ in column + "=" + (values[column] ?? "") } }.joined(separator: "&")
            let group = "or=(" + Array(repeating: "id.gt.0", count: 100).joined(separator: ",") + ")"
            #expect(try await connection.request("GET", "/tasks?" + hundred + "&" + group).status == 200)
            try check(try await connection.request("GET", "/tasks?" + hundred + "&" + group + "&and=(id.gt.0)"), 400, "the limit is 200")
            let eleven = (0..<11).map { _ in "id=gt.0" }.joined(separator: "&")
            try check(try await connection.request("GET", "/tasks?" + eleven), 400, "more than 10 filters on one column")
            // Items of one in list: 1,000 are fine, 1,001 are not.
            let items = (1...1_000).map(String.init).joined(separator: ",")
            #expect(try await connection.request("GET", "/tasks?id=in.(\(items))").status == 200)
            try check(try await connection.request("GET", "/tasks?id=in.(\(items),0)"), 400, "limit is 1000 items")
            #expect(pointers(try await connection.request("GET", "/tasks?id=in.(\(items),0)")).isEmpty)
            // The request target: 16 KiB is fine, more is 414, and the connection goes on.
            let target = "/tasks?title=neq." + String(repeating: "x", count: 16 * 1024 - 17)
            #expect(target.utf8.count == 16 * 1024)
            #expect(try await connection.request("GET", target).status == 200)
            // The probe that found this: 5,000 filters answered 500.
            let probe = "/tasks?" + (0..<5_000).map { _ in "title=neq.x" }.joined(separator: "&")
            try check(try await connection.request("GET", probe), 414, "limit is 16384 bytes")
            try check(try await connection.request("GET", target + "x"), 414, "limit is 16384 bytes")
            #expect(try await connection.request("GET", "/_health").status == 200)
            // A target past the head NIO reads (80 KiB) is still a 414 (it was a 431 that blamed
            // the header fields), then the connection closes; also after other requests, a body
            // among them, on the same connection.
            let list = (1...40_000).map(String.init).joined(separator: ",")
            for earlier in 0..<2 {
                let huge = try await HTTPConnection(port: server.port)
                if earlier == 1 {
                    #expect(try await huge.request("GET", "/_health").status == 200)
                    let created = try await huge.request(
                        "POST", "/projects", headers: [("Content-Type", "application/json")], body: Array(#"{"name":"p"}"#.utf8))
                    #expect(created.status == 201)
                }
                let overflow = try await huge.request("GET", "/tasks?id=in.(\(list))")
                try check(overflow, 414, "longer than 81920 bytes")
                #expect(overflow.header("Connection") == "close")
                #expect(await huge.isClosedByPeer(within: .seconds(5)))
            }
            let headers = try await HTTPConnection(port: server.port)
            try check(try await headers.request("GET", "/_health", headers: [("X-Padding", String(repeating: "p", count: 90_000))]), 431, "header fields")
            #expect(try await server.request("GET", "/_health").status == 200)
        }
    }
}
