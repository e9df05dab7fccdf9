// A database file that is not a database, or is one whose schema is damaged, stops `serve`,
// `migrate` and `check` with one clear line and exit status 1: never a crash, never a server
// that starts and then fails each request.

import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct DamagedDatabaseTests {
    /// What each damaged file should make every command say.
    private func expectRefused(_ workspace: Workspace, _ file: String, saying text: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for command in [["serve", "--port", "0"], ["migrate"], ["check"]] {
            let result = try await run(command + ["--db", file], in: workspace.path)
            #expect(result.status == 1, "\(command): status \(result.status)", sourceLocation: sourceLocation)
            expectOneErrorLine(result, containing: text, sourceLocation: sourceLocation)
        }
    }

    @Test func aFileOfRandomBytesIsNotADatabase() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        var generator = SeededGenerator(seed: 13)
        let bytes = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: workspace.file("random.sqlite")))
        try await expectRefused(workspace, "random.sqlite", saying: "cannot open random.sqlite: file is not a database")
    }

    @Test func aTextFileIsNotADatabase() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        try "id,title\n1,write the report\n".write(toFile: workspace.file("tasks.csv"), atomically: true, encoding: .utf8)
        try await expectRefused(workspace, "tasks.csv", saying: "cannot open tasks.csv: file is not a database")
    }

    @Test func aDatabaseWithItsSchemaPageOverwrittenIsMalformed() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        #expect(try await run(["migrate"], in: workspace.path).status == 0)
        // Page 1 holds the header (first 100 bytes, kept) and the root of sqlite_master: garbage
        // after the header makes the schema unreadable, as a torn or scribbled write would.
        let path = workspace.file("feedbase.sqlite")
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 100)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 3_000))
        try handle.close()
        try await expectRefused(workspace, "feedbase.sqlite", saying: "cannot open feedbase.sqlite: database disk image is malformed")
    }

    @Test func aDirectoryWhereTheFileShouldBeCannotBeOpened() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        try FileManager.default.createDirectory(atPath: workspace.file("data.sqlite"), withIntermediateDirectories: false)
        try await expectRefused(workspace, "data.sqlite", saying: "cannot open data.sqlite")
    }
}
