// `GET /_ready` beside `GET /_health`: ready while the database takes writes and the feed is
// caught up; 503 with the reason while another program holds the write lock past the busy
// timeout, or once the server has begun to stop, while /_health still says the process is fine.

@testable import FeedbaseSQLite
import Foundation
import Testing

@Suite struct ReadinessTests {
    @Test(arguments: Engine.available) func aServingServerIsReadyAndTheIndexLinksIt(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"one"}"#)
            let ready = try await server.request("GET", "/_ready")
            #expect(ready.status == 200 && ready.text == #"{"status":"ready"}"#, "\(ready.text)")
            #expect(try object(try await server.request("GET", "/"))["ready"] as? String == "/_ready")
            server.app.api.draining.begin()
            let stopping = try await server.request("GET", "/_ready")
            #expect(stopping.status == 503 && stopping.text == #"{"status":"unavailable","reason":"the server is stopping"}"#)
            #expect(try await server.request("GET", "/_health").status == 200)
        }
    }

    @Test func aWriteLockHeldElsewhereIsNotReadyUntilItGoes() async throws {
        try await withServer(busyTimeoutMilliseconds: 200) { server in
            let other = try Connection(path: server.directory + "/test.sqlite")
            try other.execute("BEGIN IMMEDIATE")
            let locked = try await server.request("GET", "/_ready")
            #expect(locked.status == 503 && locked.text.contains("the database is not writable"), "\(locked.text)")
            #expect(try await server.request("GET", "/_health").status == 200)
            try other.execute("ROLLBACK")
            #expect(try await server.request("GET", "/_ready").status == 200)
        }
    }
}
