// The real `feedbase` binary, run as a user would: migrate, status, schema, environment
// fallbacks, and one clear error line (never a crash or a stack trace) for each bad input.

import FeedbaseTestSupport
import Foundation
import Testing

struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func run(_ arguments: [String], in directory: String, environment: [String: String] = [:]) async throws -> Run {
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FEEDBASE_") }
    env.merge(environment) { $1 }
    let result = try await ChildProcess.run(try feedbaseBinary().path, arguments, directory: directory, environment: env)
    return Run(status: result.status, stdout: result.stdout, stderr: result.stderr)
}

let shippedMigrations = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("migrations").path

final class Workspace {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// A copy of the shipped migrations as `./migrations`, as in a fresh checkout.
    func copyMigrations() throws {
        try FileManager.default.copyItem(atPath: shippedMigrations, toPath: file("migrations"))
    }
}

/// Exactly one line on standard error, starting `feedbase: error:`, and no trace of a crash.
func expectOneErrorLine(_ result: Run, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status != 0, sourceLocation: sourceLocation)
    let lines = result.stderr.split(separator: "\n")
    #expect(lines.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.stderr.hasPrefix("feedbase: error: "), "\(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.stderr.contains(text), "\(result.stderr)", sourceLocation: sourceLocation)
    for crash in ["Fatal error", "Stack dump", "backtrace", "Illegal instruction"] {
        #expect(!result.stderr.contains(crash), sourceLocation: sourceLocation)
    }
}

@Suite struct CLITests {
    @Test func migrateOnAFreshDirectoryCreatesTheDatabaseThenAppliesNothing() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let first = try await run(["migrate"], in: workspace.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == "applied 0001_projects_and_tasks.sql\napplied 0002_comments.sql\n")
        #expect(FileManager.default.fileExists(atPath: workspace.file("feedbase.sqlite")))
        let second = try await run(["migrate"], in: workspace.path)
        #expect(second.status == 0)
        #expect(second.stdout == "feedbase.sqlite is up to date; nothing to apply\n")

        let status = try await run(["migrate", "--status"], in: workspace.path)
        #expect(status.status == 0)
        #expect(status.stdout.split(separator: "\n").map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
            == ["applied 0001_projects_and_tasks.sql", "applied 0002_comments.sql"])
    }

    @Test func schemaListsTheExampleCollectionsWithTypes() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        #expect(try await run(["migrate"], in: workspace.path).status == 0)
        let schema = try await run(["schema"], in: workspace.path)
        #expect(schema.status == 0, "\(schema.stderr)")
        let lines = schema.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("tasks"))
        #expect(lines.contains("projects"))
        #expect(lines.contains("comments"))
        func line(_ prefix: String) -> String? { lines.first { $0.hasPrefix(prefix) } }
        #expect(line("  id          integer")?.contains("primary key, assigned by the server") == true)
        #expect(line("  project_id  integer")?.contains("references projects(id)") == true)
        #expect(line("  done        boolean")?.contains("default 0") == true)
        #expect(line("  due         date-time")?.contains("nullable") == true)
        #expect(line("  tags        json") != nil)
        #expect(line("  attachment  blob") != nil)
        #expect(line("  posted_on  date") != nil)
        #expect(line("  remind_at  time") != nil)
    }

    @Test func everyFlagFallsBackToItsEnvironmentVariable() async throws {
        let workspace = try Workspace()
        let environment = ["FEEDBASE_DB": workspace.file("from-env.sqlite"), "FEEDBASE_MIGRATIONS": shippedMigrations,
                           "FEEDBASE_SYNCHRONOUS": "NORMAL"]
        let result = try await run(["migrate"], in: workspace.path, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: workspace.file("from-env.sqlite")))
        // A flag beats the environment.
        let flagged = try await run(["migrate", "--db", workspace.file("from-flag.sqlite")], in: workspace.path, environment: environment)
        #expect(flagged.status == 0)
        #expect(FileManager.default.fileExists(atPath: workspace.file("from-flag.sqlite")))
        let bad = try await run(["migrate"], in: workspace.path, environment: ["FEEDBASE_SYNCHRONOUS": "SOMETIMES", "FEEDBASE_MIGRATIONS": shippedMigrations])
        expectOneErrorLine(bad, containing: "FEEDBASE_SYNCHRONOUS must be FULL, NORMAL or OFF")
    }

    @Test func badInputsGiveOneClearErrorLine() async throws {
        let workspace = try Workspace()
        expectOneErrorLine(try await run(["migrate"], in: workspace.path), containing: "migrations directory migrations does not exist")
        expectOneErrorLine(try await run(["schema"], in: workspace.path), containing: "no database at feedbase.sqlite")

        try workspace.copyMigrations()
        #expect(try await run(["migrate"], in: workspace.path).status == 0)
        let edited = workspace.file("migrations/0002_comments.sql")
        try ("-- edited\n" + String(contentsOfFile: edited, encoding: .utf8)).write(toFile: edited, atomically: true, encoding: .utf8)
        expectOneErrorLine(try await run(["migrate"], in: workspace.path), containing: "0002_comments.sql was changed after it was applied")

        try "CREATE TABLE broken (".write(toFile: workspace.file("migrations/0003_broken.sql"), atomically: true, encoding: .utf8)
        let other = workspace.file("other.sqlite")
        expectOneErrorLine(try await run(["migrate", "--db", other], in: workspace.path), containing: "migration 0003_broken.sql failed and was rolled back")
        try FileManager.default.removeItem(atPath: edited)
        expectOneErrorLine(try await run(["migrate", "--db", other], in: workspace.path), containing: "0003_broken.sql is out of sequence")

        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: workspace.file("garbage.sqlite")))
        expectOneErrorLine(try await run(["schema", "--db", "garbage.sqlite"], in: workspace.path), containing: "garbage.sqlite")
        expectOneErrorLine(try await run(["migrate", "--db", "garbage.sqlite", "--migrations", shippedMigrations], in: workspace.path),
            containing: "not a database")
    }

    @Test func theCommittedOpenAPIYAMLIsWhatTheCodeGenerates() async throws {
        // openapi.yaml at the top level is `feedbase openapi` on the shipped migrations; regenerate
        // it with `swift run feedbase openapi > openapi.yaml` when this fails.
        let workspace = try Workspace()
        let generated = try await run(["openapi", "--migrations", shippedMigrations], in: workspace.path)
        #expect(generated.status == 0, "\(generated.stderr)")
        let committed = try String(contentsOfFile: shippedMigrations + "/../openapi.yaml", encoding: .utf8)
        #expect(generated.stdout == committed, "openapi.yaml drifted from the generator: run `swift run feedbase openapi > openapi.yaml`")
        #expect(!FileManager.default.fileExists(atPath: workspace.file("feedbase.sqlite")))  // printing creates no database
    }

    @Test func openAPIDescribesTheDatabaseWithItsPendingMigrationsWithoutChangingIt() async throws {
        let workspace = try Workspace()
        let migrations = workspace.file("m")
        try FileManager.default.createDirectory(atPath: migrations, withIntermediateDirectories: true)
        try "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);".write(toFile: migrations + "/0001_notes.sql", atomically: true, encoding: .utf8)
        #expect(try await run(["migrate", "--migrations", "m"], in: workspace.path).status == 0)
        try "CREATE TABLE tags (name TEXT PRIMARY KEY);".write(toFile: migrations + "/0002_tags.sql", atomically: true, encoding: .utf8)
        let before = try Data(contentsOf: URL(fileURLWithPath: workspace.file("feedbase.sqlite")))

        let json = try await run(["openapi", "--migrations", "m", "--format", "json", "--server-url", "http://api.example:9000"], in: workspace.path)
        #expect(json.status == 0, "\(json.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        #expect(((document["servers"] as? [[String: Any]])?.first?["url"] as? String) == "http://api.example:9000")
        let paths = try #require(document["paths"] as? [String: Any])
        #expect(paths["/notes/{id}"] != nil && paths["/tags/{id}"] != nil && paths["/_changes"] != nil)
        #expect(try Data(contentsOf: URL(fileURLWithPath: workspace.file("feedbase.sqlite"))) == before)
        #expect(try await run(["migrate", "--status", "--migrations", "m"], in: workspace.path).stdout.contains("pending  0002_tags.sql"))

        let quiet = try await run(["openapi", "--migrations", "m", "--no-feed"], in: workspace.path)
        #expect(quiet.status == 0 && quiet.stdout.hasPrefix("openapi: \"3.1.0\"") && !quiet.stdout.contains("/_changes"))
        let asyncAPI = try await run(["openapi", "--migrations", "m", "--asyncapi", "--format", "json"], in: workspace.path)
        #expect(asyncAPI.status == 0 && asyncAPI.stdout.contains(#""asyncapi": "3.0.0""#))
        expectOneErrorLine(try await run(["openapi", "--format", "xml", "--migrations", "m"], in: workspace.path), containing: "--format must be yaml or json")
        expectOneErrorLine(try await run(["openapi", "--migrations", "nowhere"], in: workspace.path), containing: "migrations directory nowhere does not exist")
    }

    @Test func aFailingMigrationIsNamedWithSQLitesMessage() async throws {
        let workspace = try Workspace()
        let migrations = workspace.file("m")
        try FileManager.default.createDirectory(atPath: migrations, withIntermediateDirectories: true)
        try "CREATE TABLE a (id INTEGER PRIMARY KEY);".write(toFile: migrations + "/0001_a.sql", atomically: true, encoding: .utf8)
        try "CREATE TABLE b (id INTEGER PRIMARY KEY); INSERT INTO nowhere VALUES (1);".write(toFile: migrations + "/0002_b.sql", atomically: true, encoding: .utf8)
        let result = try await run(["migrate", "--migrations", "m"], in: workspace.path)
        expectOneErrorLine(result, containing: "migration 0002_b.sql failed and was rolled back: no such table: nowhere")
        let status = try await run(["migrate", "--status", "--migrations", "m"], in: workspace.path)
        #expect(status.stdout.hasPrefix("applied  0001_a.sql"))
        #expect(status.stdout.contains("pending  0002_b.sql"))
    }
}
