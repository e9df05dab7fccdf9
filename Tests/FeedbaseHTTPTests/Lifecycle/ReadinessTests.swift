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
            // Ready at once on a quiet machine; a loaded one may hold the hub past the probe's
            // bound for a moment, so wait for it, bounded.
            let ready = try await Self.ready(server)
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
            #expect(try await Self.ready(server).status == 200)
        }
    }

    /// `/_ready` until it says ready, at most 30 s; the last answer.
    static func ready(_ server: TestServer) async throws -> HTTPResponse {
        let deadline = ContinuousClock.now + .seconds(30)
        var answer = try await server.request("GET", "/_ready")
        while answer.status != 200 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            answer = try await server.request("GET", "/_ready")
        }
        return answer
    }
}
