// A primary key changed by another program (the sqlite3 shell, or psql) is another item to every reader:
// the log holds a `delete` of the old id and a `create` of the new one, one after the other in
// the change's transaction, so the firehose, /_changes and every band drop the old id and take
// the new one. Integer and text keys alike. (BandTests' random writes change keys too.)

import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct KeyChangeTests {
    @Test(arguments: Engine.available)
    func aKeyChangedByAnotherProgramIsADeleteOfTheOldIdAndACreateOfTheNewOne(engine: Engine) async throws {
        try await withServer(engine, progressInterval: .milliseconds(20)) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"p"}"#)
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"a"}"#)
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"b","done":true}"#)
            let comment = try await server.request("POST", "/comments", json: #"{"id":"old","task_id":2,"body":"c"}"#)
            #expect(comment.status == 201)
            let since = Int(comment.header("X-Change-Seq") ?? "") ?? -1
            let band = try await BandTransport.serverSentEvents.follow(port: server.port, collection: "tasks", query: "done=is.false", since: since)
            let webSocket = try await BandTransport.webSocket.follow(port: server.port, collection: "comments", query: "body=eq.c", since: since)

            // On PostgreSQL the identity then follows the key given, as a program writing there must.
            let change = "UPDATE tasks SET id = 500 WHERE id = 1; UPDATE comments SET id = 'new' WHERE id = 'old'"
            try await server.foreignWrite(EngineSQL(
                sqlite: change, postgres: change + "; SELECT setval(pg_get_serial_sequence('tasks', 'id'), (SELECT max(id) FROM tasks));"))

            let events = try await changes(server, since: since, count: 4)
            #expect(events.map(\.description) == [
                "\(since + 1) delete tasks/1", "\(since + 2) create tasks/500", "\(since + 3) delete comments/old", "\(since + 4) create comments/new",
            ])
            #expect(events.first?.item["title"] as? String == "a" && events.dropFirst().first?.item["id"] as? Int == 500)
            // The band of open tasks: the old id leaves it, the new one enters it.
            var seen: [String] = []
            for follower in [band, webSocket] {
                while true {
                    let message = try await follower.next()
                    guard message.kind == "change" else { continue }
                    seen.append("\(message.data["op"] as? String ?? "") \(message.data["id"] as? String ?? "")")
                    if message.data["op"] as? String == "create" { break }
                }
                follower.close()
            }
            #expect(seen == ["delete 1", "create 500", "delete old", "create new"])
            // The listing agrees.
            #expect(try array(try await server.request("GET", "/tasks?done=is.false")).compactMap { $0["id"] as? Int } == [500])
            #expect(try await server.request("GET", "/comments/old").status == 404)
        }
    }
}
