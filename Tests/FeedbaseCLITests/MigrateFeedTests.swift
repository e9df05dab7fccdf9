// `feedbase migrate` alone leaves a database whose writes are logged: rows another program
// writes after it and before the first `serve` are in the feed that `serve` then offers.

import FeedbaseTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite struct MigrateFeedTests {
    @Test func rowsWrittenBetweenMigrateAndTheFirstServeHaveEvents() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let migrated = try await run(["migrate"], in: workspace.path)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let shell = try await ChildProcess.run("/usr/bin/env", [
            "sqlite3", "-cmd", ".timeout 5000", workspace.file("feedbase.sqlite"),
            "INSERT INTO projects (name) VALUES ('from the shell'); INSERT INTO tasks (project_id, title) VALUES (1, 'before serve'); "
                + "UPDATE tasks SET title = 'edited' WHERE id = 1; DELETE FROM tasks WHERE id = 1",
        ], environment: ProcessInfo.processInfo.environment)
        #expect(shell.status == 0, "\(shell.stderr)")

        let server = try ServeProcess(["--port", "0"], in: workspace.path)
        let log = try await server.waitForLog { $0.contains("listening on http://127.0.0.1:") }
        let line = try #require(log.split(separator: "\n").first { $0.contains("listening on") })
        let port = try #require(Int(line.split(separator: ":").last ?? ""))
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/_changes?since=0"))
        let (body, response) = try await URLSession.shared.data(from: url)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        let changes = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])["changes"] as? [[String: Any]] ?? []
        let events = changes.map { "\($0["collection"] ?? "") \($0["op"] ?? "") \($0["id"] ?? "")" }
        #expect(events == ["projects create 1", "tasks create 1", "tasks update 1", "tasks delete 1"])
        #expect(try await server.stop() == 0)
    }
}
