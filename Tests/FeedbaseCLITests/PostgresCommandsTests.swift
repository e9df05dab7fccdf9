// The other commands given a postgres:// URL: `migrate` applies migrations/postgres once and then
// has nothing to do, `schema` prints what a node serves, and the commands that read or copy a
// SQLite file say in one line what to use instead (never a file named after the URL). Skipped,
// with the reason, where PostgreSQL's binaries are missing.

import FeedbaseTestSupport
import Foundation
import Testing

@Suite(.enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason ?? "PostgreSQL is available")))
struct PostgresCommandsTests {
    @Test func migrateSchemaAndTheSQLiteOnlyCommandsOnAPostgresURL() async throws {
        let database = try await PostgresCluster.shared().createDatabase()
        let workspace = try Workspace()
        try workspace.copyMigrations()

        let first = try await run(["migrate", "--db", database.url], in: workspace.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.split(separator: "\n") == ["applied 0001_projects_and_tasks.sql", "applied 0002_comments.sql"])
        let again = try await run(["migrate"], in: workspace.path, environment: ["FEEDBASE_DB": database.url])
        #expect(again.status == 0 && again.stdout == "the database is up to date; nothing to apply\n", "\(again.stdout) \(again.stderr)")

        let schema = try await run(["schema", "--db", database.url], in: workspace.path)
        #expect(schema.status == 0, "\(schema.stderr)")
        for collection in ["comments", "projects", "tasks"] { #expect(schema.stdout.contains(collection), "\(schema.stdout)") }

        expectOneErrorLine(try await run(["backup", "--db", database.url, workspace.file("copy")], in: workspace.path), containing: "pg_dump")
        expectOneErrorLine(try await run(["check", "--db", database.url], in: workspace.path), containing: "pg_amcheck")
        expectOneErrorLine(try await run(["openapi", "--db", database.url], in: workspace.path), containing: "/openapi.json")
        expectOneErrorLine(try await run(["rules", "--db", database.url], in: workspace.path), containing: "when it starts")
        expectOneErrorLine(try await run(["migrate", "--status", "--db", database.url], in: workspace.path), containing: "_migrations")
        // Nothing was taken for a file path.
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path).sorted() == ["migrations"])
    }
}
