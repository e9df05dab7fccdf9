// The `feedbase` command line: subcommands, their options, and environment fallbacks
// (`FEEDBASE_<FLAG>`). Errors print one line on standard error and exit non-zero.

import ArgumentParser
import FeedbaseApp
import FeedbaseModel
import FeedbasePostgres
import FeedbaseSQLite
import Foundation
import Logging

public struct FeedbaseCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "feedbase",
        abstract: "A SQLite database as a RESTful JSON API with a live change feed.",
        version: FeedbaseVersion.current,
        subcommands: [Serve.self, Migrate.self, SchemaCommand.self, OpenAPICommand.self, KeysCommand.self, RulesCommand.self, BackupCommand.self, CheckCommand.self]
    )

    public init() {}

    /// Parses the arguments and runs the chosen subcommand. (Calling `main()` from top-level code
    /// on Linux picks ParsableCommand's synchronous overload, which refuses async subcommands.)
    public static func start(_ arguments: [String]? = nil) async {
        do {
            // Before parsing: the options' defaults come from the environment and the config file.
            do {
                try await ConfigurationSources.load(arguments: arguments ?? Array(CommandLine.arguments.dropFirst()), logger: Logger(label: "feedbase"))
            } catch {
                throw reported(error)
            }
            var command = try parseAsRoot(arguments)
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}


struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "A JSON file of settings, keyed by the flags' names ({\"port\": 8443}); flags and FEEDBASE_* variables win over it (env FEEDBASE_CONFIG).")
    var config: String?

    @Option(name: .long, help: "The SQLite database file, or a postgres://user[:password]@host[:port]/database URL (env FEEDBASE_DB).")
    var db: String = environment("DB") ?? "feedbase.sqlite"

    @Option(name: .customLong("db-connections"), help: "PostgreSQL only: the most connections a node's pool opens, 1 to 1000; a node also holds one for LISTEN, so N nodes need N × (this + 1) under the server's max_connections. Default 10 (env FEEDBASE_DB_CONNECTIONS).")
    var dbConnections: String = environment("DB_CONNECTIONS") ?? ""

    /// `--db-connections` as a number, or why not; nil when not given.
    func poolSize() throws -> Int? {
        guard !dbConnections.isEmpty else { return nil }
        guard PostgresURL.isPostgres(db) else { throw CLIError("--db-connections applies to a postgres:// database only, not to a SQLite file") }
        guard let size = Int(dbConnections), (1...1000).contains(size) else {
            throw CLIError("\(source("db-connections")) must be a number from 1 to 1000, not '\(dbConnections)'")
        }
        return size
    }

    @Option(name: .long, help: "Synchronous mode: FULL (durable), NORMAL or OFF (env FEEDBASE_SYNCHRONOUS).")
    var synchronous: String = environment("SYNCHRONOUS") ?? "FULL"

    @Option(name: .customLong("max-db-size"), help: "The most the database file may grow to, in bytes or with K, M, G (1024-based); writes past it answer 507. Default: as the disk allows (env FEEDBASE_MAX_DB_SIZE).")
    var maxDatabaseSize: String = environment("MAX_DB_SIZE") ?? ""

    func connectionOptions() throws -> ConnectionOptions {
        guard let mode = SynchronousMode(rawValue: synchronous.uppercased()) else {
            throw CLIError("\(source("synchronous")) must be FULL, NORMAL or OFF, not '\(synchronous)'")
        }
        var options = ConnectionOptions(synchronous: mode)
        if !maxDatabaseSize.isEmpty {
            guard let bytes = Self.bytes(maxDatabaseSize), bytes >= 65_536 else {
                throw CLIError("\(source("max-db-size")) must be a size of at least 64K, such as 500M or 20G, not '\(maxDatabaseSize)'")
            }
            options.maxDatabaseBytes = bytes
        }
        return options
    }

    /// `123`, `64K`, `500M`, `20G` (1024-based; a trailing B or iB is allowed): the bytes, or nil.
    static func bytes(_ text: String) -> Int64? {
        var digits = Substring(text.uppercased())
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) { digits = digits.dropLast(suffix.count); break }
        var scale: Int64 = 1
        if let unit = digits.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(unit)] {
            scale = Int64(1) << (10 * power)
            digits = digits.dropLast()
        }
        guard let value = Int64(digits), value > 0 else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product
    }
}

struct MigrationOptions: ParsableArguments {
    @Option(name: .long, help: "The directory of NNNN_description.sql files (env FEEDBASE_MIGRATIONS).")
    var migrations: String = environment("MIGRATIONS") ?? "migrations"
}

/// The one answer of every command that needs an existing database (all but `migrate`,
/// `serve`, `openapi` and `rules`, which work from the migrations alone).
func requireDatabase(_ path: String) throws {
    guard FileManager.default.fileExists(atPath: path) else {
        throw CLIError("no database at \(path); 'feedbase migrate' or 'feedbase serve' creates it")
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`; any error becomes one line on standard error and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        throw reported(error)
    }
}

func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        throw reported(error)
    }
}

/// The commands that read or copy a SQLite file answer a postgres:// URL with one line saying
/// what to use instead, rather than looking for a file of that name.
func requireSQLite(_ db: String, for command: String, instead: String) throws {
    guard !PostgresURL.isPostgres(db) else {
        throw CLIError("feedbase \(command) works on a SQLite file, not on PostgreSQL: \(instead)")
    }
}

/// Opens the PostgreSQL engine for a command (migrating from `migrations`/postgres), runs `body`,
/// and closes it; only the client's errors are logged.
func withPostgres<T: Sendable>(_ url: String, migrations: String, _ body: (PostgresStore) async throws -> T) async throws -> T {
    var logger = Logger(label: "feedbase")
    logger.logLevel = .error
    let store = try await PostgresStore.open(try PostgresURL.endpoint(url), migrationsDirectory: migrations + "/postgres", logger: logger)
    do {
        let result = try await body(store)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}

/// Prints a store or command-line error as one line and turns it into exit status 1; other
/// errors pass through unchanged.
func reported(_ error: any Error) -> any Error {
    switch error {
    case let error as StoreError:
        printError(error.message)
        return ExitCode.failure
    case let error as CLIError:
        printError(error.description)
        return ExitCode.failure
    default:
        return error
    }
}

func printError(_ message: String) {
    let line = "feedbase: error: " + message.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: " ") + "\n"
    FileHandle.standardError.write(Data(line.utf8))
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations (or, with --status, list applied and pending ones).")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var migrationOptions: MigrationOptions

    @Flag(name: .long, help: "List applied and pending migrations without applying any.")
    var status = false

    func run() async throws {
        if PostgresURL.isPostgres(database.db) {
            try await reportingErrors {
                if status {
                    var logger = Logger(label: "feedbase")
                    logger.logLevel = .error
                    let directory = migrationOptions.migrations + "/postgres"
                    printStatus(
                        try await PostgresStore.migrationStatus(try PostgresURL.endpoint(database.db), migrationsDirectory: directory, logger: logger),
                        directory: directory)
                    return
                }
                let applied = try await withPostgres(database.db, migrations: migrationOptions.migrations) { $0.appliedMigrations }
                if applied.isEmpty { print("the database is up to date; nothing to apply") }
                for name in applied { print("applied \(name)") }
            }
            return
        }
        try reportingErrors {
            if status {
                printStatus(
                    try SQLiteStore.migrationStatus(path: database.db, migrationsDirectory: migrationOptions.migrations),
                    directory: migrationOptions.migrations)
                return
            }
            let applied = try SQLiteStore.migrate(
                path: database.db, migrationsDirectory: migrationOptions.migrations, options: database.connectionOptions())
            if applied.isEmpty {
                print("\(database.db) is up to date; nothing to apply")
            } else {
                for name in applied { print("applied \(name)") }
            }
        }
    }
}

/// `migrate --status`'s lines, the same on both engines: state, file, and when it was applied.
private func printStatus(_ states: [MigrationStatus], directory: String) {
    if states.isEmpty { print("no migrations in \(directory)") }
    for state in states {
        print("\(state.state.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(state.name)\(state.appliedAt.map { "  \($0)" } ?? "")")
    }
}

struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Print the collections of the database and their typed columns.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        if PostgresURL.isPostgres(database.db) {
            try await reportingErrors {
                var logger = Logger(label: "feedbase")
                logger.logLevel = .error
                let schema = try await PostgresStore.introspect(try PostgresURL.endpoint(database.db), logger: logger)
                print(SchemaDescription.text(of: schema), terminator: "")
            }
            return
        }
        try reportingErrors {
            try requireDatabase(database.db)
            print(SchemaDescription.text(of: try SQLiteStore.introspect(path: database.db)), terminator: "")
        }
    }
}

enum SchemaDescription {
    static func text(of schema: Schema) -> String {
        var out = ""
        if schema.collections.isEmpty { out += "no collections\n" }
        for collection in schema.collections {
            out += "\(collection.name)\n"
            let width = collection.columns.map(\.name.count).max() ?? 0
            for column in collection.columns {
                var notes: [String] = []
                if column.isPrimaryKey {
                    switch collection.keyAssignment {
                    case .serverInteger: notes.append("primary key, assigned by the server")
                    case .serverText: notes.append("primary key, generated by the server when omitted")
                    case .client: notes.append("primary key")
                    }
                } else {
                    notes.append(column.nullable ? "nullable" : "not null")
                    if column.isUnique { notes.append("unique") }
                }
                if let defaultSQL = column.defaultSQL { notes.append("default \(defaultSQL)") }
                if column.isGenerated { notes.append("generated, read-only") }
                if let reference = column.references {
                    notes.append("references \(reference.table)(\(reference.parentColumn ?? "primary key"))")
                }
                let name = column.name.padding(toLength: width, withPad: " ", startingAt: 0)
                let type = column.type.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                out += "  \(name)  \(type)  \(notes.joined(separator: ", "))\n"
            }
        }
        for table in schema.skipped where !table.name.hasPrefix("_") && !table.name.hasPrefix("sqlite_") {
            out += "skipped \(table.name): \(table.reason)\n"
        }
        return out
    }
}
