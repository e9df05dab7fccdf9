// Which commands may create or change the database file, with the real binary: `rules` only
// reads (pending migrations worked out on a scratch copy), every command that needs an existing
// database says so in the same words and creates none, and `serve` without its migrations
// directory leaves no file behind, and with an empty one says why nothing is served.

import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct DatabaseFileTests {
    @Test func rulesReadsTheSchemaAfterPendingMigrationsAndChangesNothing() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        try "allow read on * to anon\n".write(toFile: workspace.file("rules.conf"), atomically: true, encoding: .utf8)
        // Without a database: the migrations alone, and no file is created.
        let fresh = try await run(["rules"], in: workspace.path)
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stdout.contains("tasks") && fresh.stdout.contains("comments"))
        #expect(!FileManager.default.fileExists(atPath: workspace.file("feedbase.sqlite")))

        #expect(try await run(["migrate"], in: workspace.path).status == 0)
        try "CREATE TABLE extras (id INTEGER PRIMARY KEY, note TEXT);\n"
            .write(toFile: workspace.file("migrations/0003_extras.sql"), atomically: true, encoding: .utf8)
        let before = try Data(contentsOf: URL(fileURLWithPath: workspace.file("feedbase.sqlite")))
        let pending = try await run(["rules"], in: workspace.path)
        #expect(pending.status == 0, "\(pending.stderr)")
        #expect(pending.stdout.contains("extras"))
        // Still pending, and the file is as it was: an edited migration would still apply.
        let status = try await run(["migrate", "--status"], in: workspace.path)
        #expect(status.stdout.contains("pending  0003_extras.sql"), "\(status.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: workspace.file("feedbase.sqlite"))) == before)
    }

    @Test(arguments: [["schema"], ["check"], ["backup", "copy.sqlite"], ["keys", "list"], ["keys", "create", "--role", "user"], ["keys", "revoke", "k1"]])
    func everyCommandThatNeedsADatabaseGivesTheSameAnswerAndCreatesNone(command: [String]) async throws {
        let workspace = try Workspace()
        let result = try await run(command + ["--db", "typo.sqlite"], in: workspace.path)
        expectOneErrorLine(result, containing: "no database at typo.sqlite; 'feedbase migrate' or 'feedbase serve' creates it")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path).isEmpty)
    }

    @Test func serveWithoutItsMigrationsDirectoryLeavesNoFileAndWithAnEmptyOneSaysWhy() async throws {
        let workspace = try Workspace()
        expectOneErrorLine(try await run(["serve", "--port", "0"], in: workspace.path), containing: "migrations directory migrations does not exist")
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path).isEmpty)

        try FileManager.default.createDirectory(atPath: workspace.file("migrations"), withIntermediateDirectories: true)
        let server = try ServeProcess(["--port", "0"], in: workspace.path)
        let log = try await server.waitForLog { $0.contains("listening on") }
        #expect(log.contains("nothing to serve: feedbase.sqlite has no table with a primary key; add migrations"), "\(log)")
        #expect(try await server.stop() == 0)
    }
}
