// The access rules file on the command line: `--rules` (default: rules.conf beside the
// migrations directory, when it exists) for `serve`, and `feedbase rules`, which checks the file
// against the schema and prints the rules in force per collection and role, changing nothing.

import ArgumentParser
import FeedbaseHTTP
import FeedbaseModel
import FeedbaseSQLite
import Foundation
import Logging

struct RulesOptions: ParsableArguments {
    @Option(name: .long, help: "The access rules file; default: rules.conf beside the migrations directory, if it exists (env FEEDBASE_RULES).")
    var rules: String = environment("RULES") ?? ""

    /// The rules, or nil when there is no file (an open server). A file named explicitly must exist.
    func load(migrations: String) throws -> AccessRules? {
        let path: String
        if !rules.isEmpty {
            path = rules
        } else {
            let beside = ((migrations as NSString).standardizingPath as NSString).deletingLastPathComponent
            path = ((beside.isEmpty ? "." : beside) as NSString).appendingPathComponent("rules.conf")
            guard FileManager.default.fileExists(atPath: path) else { return nil }
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read the rules file \(path)") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("the rules file \(path) is not UTF-8 text") }
        do {
            return try AccessRules.parse(text, file: path)
        } catch {
            throw CLIError("access rules: \(error)")
        }
    }
}

struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Check the access rules against the schema (after pending migrations) and print them per collection and role.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var migrationOptions: MigrationOptions
    @OptionGroup var rulesOptions: RulesOptions

    func run() async throws {
        do {
            try requireSQLite(database.db, for: "rules", instead: "a node checks its rules against the schema when it starts, and refuses bad ones")
            let policy = AccessPolicy(rules: try rulesOptions.load(migrations: migrationOptions.migrations))
            var logger = Logger(label: "feedbase")
            logger.logLevel = .warning
            // Only reads: the schema after pending migrations is worked out on a scratch copy.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-rules-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let scratch = directory + "/scratch.sqlite"
            try SQLiteStore.scratchCopy(of: database.db, migrationsDirectory: migrationOptions.migrations, to: scratch)
            var configuration = StoreConfiguration(path: scratch, connection: try database.connectionOptions())
            configuration.readers = 1
            configuration.backgroundCheckpoints = false
            let store = try SQLiteStore(configuration, logger: logger)
            do {
                try await policy.validate(store.schema, store: store)
            } catch {
                await store.close()
                throw CLIError("access rules: \(error)")
            }
            print(policy.describe(store.schema), terminator: "")
            await store.close()
        } catch {
            throw reported(error)
        }
    }
}
