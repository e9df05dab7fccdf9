// The SQLite engine behind ResourceStore: opens the writer and reader connections, applies
// migrations, introspects the schema, and runs resource operations as SQL that builds row JSON.

import FeedbaseModel
import Foundation
import Logging

public struct StoreConfiguration: Sendable {
    /// A file path, or ":memory:" (one connection only: no readers can share it).
    public var path: String
    public var migrationsDirectory: String?
    public var connection: ConnectionOptions
    /// Reader connections (and threads); about one per core.
    public var readers: Int
    /// Record every write in the change log (the feed); off, REST works the same without it.
    public var feed: Bool = true
    /// WAL checkpoints on a thread of their own (Checkpointer.swift); false: in the writer's
    /// commits, as SQLite does by default (kept for comparison, bench/checkpoint.sh).
    public var backgroundCheckpoints: Bool = true
    /// Where group-commit sizes and WAL checkpoints are recorded (the app's /metrics).
    public var metrics: WriterMetrics = .none

    public init(
        path: String, migrationsDirectory: String? = nil, connection: ConnectionOptions = ConnectionOptions(),
        readers: Int = max(2, ProcessInfo.processInfo.activeProcessorCount)
    ) {
        self.path = path
        self.migrationsDirectory = migrationsDirectory
        self.connection = connection
        self.readers = readers
    }
}

public final class SQLiteStore: ResourceStore {
    public let schema: Schema
    public let feedEnabled: Bool
    /// Names of the migrations applied while opening.
    public let appliedMigrations: [String]
    let database: Database
    let ids = TimeOrderedIDGenerator()
    let collections: [String: CollectionSchema]
    /// Per collection: one statement reading an item and the change log's head together.
    let itemSQL: [String: String]
    private let logger: Logger

    /// Opens (creating if needed) the database, applies pending migrations, introspects. Blocks
    /// the calling thread: call it at startup, never on an event loop.
    public init(_ configuration: StoreConfiguration, logger: Logger) throws {
        let writer = try Connection(path: configuration.path, options: configuration.connection)
        if let directory = configuration.migrationsDirectory {
            appliedMigrations = try Migrator.migrate(Migrator.files(in: directory), on: writer)
        } else {
            appliedMigrations = []
        }
        for name in appliedMigrations { logger.info("applied migration", metadata: ["migration": "\(name)"]) }
        schema = try Introspector.schema(of: writer)
        try ChangeLog.install(schema.collections, enabled: configuration.feed, on: writer)
        // Before the readers open: they are query-only, and the authenticator reads keys on them.
        try APIKeyTable.create(on: writer)
        feedEnabled = configuration.feed
        for table in schema.skipped where !table.name.hasPrefix("_") && !table.name.hasPrefix("sqlite_") {
            logger.notice("table not served", metadata: ["table": "\(table.name)", "reason": "\(table.reason)"])
        }
        var readerOptions = configuration.connection
        readerOptions.queryOnly = true
        let readers = try (0..<max(1, configuration.readers)).map { _ in
            try Connection(path: configuration.path, options: readerOptions)
        }
        // A file database gets a checkpointer of its own (an in-memory one has no WAL).
        let checkpointer = configuration.backgroundCheckpoints && configuration.path != ":memory:" && !configuration.path.isEmpty
            ? try Connection(path: configuration.path, options: configuration.connection) : nil
        database = try Database(writer: writer, readers: readers, checkpointer: checkpointer, metrics: configuration.metrics)
        collections = Dictionary(schema.collections.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let head = configuration.feed ? "(SELECT seq FROM sqlite_sequence WHERE name = '_changes')" : "0"
        itemSQL = collections.mapValues { collection in
            "SELECT \(RowJSON.objectExpression(collection)), \(head) FROM \(quoteIdentifier(collection.name)) "
                + "WHERE \(quoteIdentifier(collection.primaryKey.name)) = ?1"
        }
        self.logger = logger
    }

    public func close() async { await database.close() }

    /// Writes waiting for the writer thread now (a gauge read at scrape time).
    public var queuedWrites: Int { database.queuedWrites }

    // MARK: Administration, without starting the threads (the CLI)

    /// Applies pending migrations to the database at `path`; returns their names.
    @discardableResult
    public static func migrate(path: String, migrationsDirectory: String, options: ConnectionOptions = ConnectionOptions()) throws -> [String] {
        let files = try Migrator.files(in: migrationsDirectory)
        let connection = try Connection(path: path, options: options)
        return try Migrator.migrate(files, on: connection)
    }

    public static func migrationStatus(path: String, migrationsDirectory: String) throws -> [MigrationStatus] {
        let files = try Migrator.files(in: migrationsDirectory)
        let connection = try Connection(path: path, options: ConnectionOptions())
        return try connection.transaction(.immediate) { try Migrator.status(of: files, on: connection) }
    }

    public static func introspect(path: String) throws -> Schema {
        let connection = try Connection(path: path, options: ConnectionOptions(queryOnly: true))
        return try Introspector.schema(of: connection)
    }

    /// The schema that `path` will have once the migrations in `migrationsDirectory` are applied,
    /// worked out in memory on a copy: the database file is neither changed nor created.
    public static func schemaAfterMigrations(path: String, migrationsDirectory: String) throws -> Schema {
        let files = try Migrator.files(in: migrationsDirectory)
        let scratch = try Connection(path: ":memory:")
        if FileManager.default.fileExists(atPath: path) {
            try scratch.copy(from: try Connection(path: path, options: ConnectionOptions(queryOnly: true)))
        }
        _ = try Migrator.migrate(files, on: scratch)
        return try Introspector.schema(of: scratch)
    }

    // MARK: Resources

    func collection(_ name: String) throws -> CollectionSchema {
        guard let collection = collections[name] else { throw StoreError.notFound("no collection named '\(name)'") }
        return collection
    }
}
