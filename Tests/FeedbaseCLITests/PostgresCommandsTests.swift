// The other commands given a postgres:// URL: `migrate` applies migrations/postgres once and then
// has nothing to do, `migrate --status` lists applied and pending files as on SQLite, `schema` prints what a node serves, and the commands that read or copy a
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
        // Nothing was taken for a file path.
        #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path).sorted() == ["migrations"])
    }

    /// `migrate --status` on PostgreSQL: every file of migrations/postgres pending on a new
    /// database, applied (with when, in UTC) after `migrate`, a new file pending beside them,
    /// nothing applied by asking; a changed applied file is refused in one line.
    @Test func migrateStatusListsAppliedAndPendingFiles() async throws {
        let database = try await PostgresCluster.shared().createDatabase()
        let workspace = try Workspace()
        try workspace.copyMigrations()

        let fresh = try await run(["migrate", "--status", "--db", database.url], in: workspace.path)
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stdout == "pending  0001_projects_and_tasks.sql\npending  0002_comments.sql\n")
        #expect(try await PostgresCluster.shared().psql("SELECT count(*) FROM _migrations", on: database) == "0\n")

        let migrated = try await run(["migrate", "--db", database.url], in: workspace.path)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let extra = workspace.file("migrations/postgres/0003_labels.sql")
        try "CREATE TABLE labels (id bigint PRIMARY KEY, name text);\n".write(toFile: extra, atomically: true, encoding: .utf8)
        let listed = try await run(["migrate", "--status"], in: workspace.path, environment: ["FEEDBASE_DB": database.url])
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(listed.stdout)")
        for (line, name) in zip(lines, ["0001_projects_and_tasks.sql", "0002_comments.sql"]) {
            // applied  NAME  YYYY-MM-DDTHH:MM:SS.sssZ
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            #expect(parts.count == 3 && parts[0] == "applied" && parts[1] == name, "\(line)")
            #expect(parts.last?.count == 24 && parts.last?.hasSuffix("Z") == true, "\(line)")
        }
        #expect(lines.last == "pending  0003_labels.sql")
        #expect(try await PostgresCluster.shared().psql("SELECT to_regclass('labels') IS NULL", on: database) == "t\n")

        try "-- changed\n".write(toFile: workspace.file("migrations/postgres/0001_projects_and_tasks.sql"), atomically: true, encoding: .utf8)
        expectOneErrorLine(
            try await run(["migrate", "--status", "--db", database.url], in: workspace.path), containing: "0001_projects_and_tasks.sql was changed after it was applied")
    }
}
