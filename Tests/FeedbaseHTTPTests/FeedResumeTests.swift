// Resuming a Server-Sent Events stream the way a browser does: an EventSource keeps the URL it
// was opened with (its `since`) and adds `Last-Event-ID` on every reconnect. The header names
// what the client already holds, so it wins over the URL's `since`, on a band and on `/_feed`.

import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct FeedResumeTests {
    /// The change ids a stream sends before `ready`.
    private func backlog(_ server: TestServer, _ target: String, lastEventID: String?) async throws -> [Int] {
        let connection = try await HTTPConnection(port: server.port)
        defer { connection.close() }
        var headers = [("Accept", "text/event-stream")]
        if let lastEventID { headers.append(("Last-Event-ID", lastEventID)) }
        try await connection.write("GET", target, headers: headers)
        let head = try await connection.readHead()
        guard head.status == 200 else { throw HTTPTestClientError(message: "\(target): \(head.status)") }
        let stream = EventStreamReader(connection)
        var ids: [Int] = []
        while true {
            let message = try await stream.next()
            if message.event == "ready" { return ids }
            if message.event == "change" { ids.append(message.id ?? -1) }
        }
    }

    @Test(arguments: Engine.available, ["/tasks?done=eq.false&since=0", "/_feed?since=0", "/_feed?since=2&collections=tasks"])
    func lastEventIDWinsOverTheSinceInTheURL(engine: Engine, target: String) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"p"}"#)  // seq 1
            for index in 0..<8 { _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"t\#(index)"}"#) }  // 2...9
            #expect(try await backlog(server, target, lastEventID: "6") == [7, 8, 9], "\(target)")
            // Without the header, the URL's since is where the stream starts.
            let first = try await backlog(server, target, lastEventID: nil)
            #expect(first.last == 9 && first.first == (target.contains("since=2") ? 3 : target.hasPrefix("/tasks") ? 2 : 1), "\(target): \(first)")
            // A header that is not a seq is ignored, as before.
            #expect(try await backlog(server, target, lastEventID: "x") == first, "\(target)")
        }
    }
}
