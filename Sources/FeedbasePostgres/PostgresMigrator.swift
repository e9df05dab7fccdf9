// Applies a PostgreSQL migrations directory (`migrations/postgres/`, docs/POSTGRES-SCHEMA.md) as
// Migrator does SQLite's: `NNNN_name.sql` files in order, each in its own transaction, names and
// SHA-256 checksums kept in `_migrations`, a file changed after it was applied refused. The
// whole run holds a session advisory lock, so N nodes starting together migrate once: the first
// applies the files, the others wait for it and then find nothing pending.
//
// A file is run by a PL/pgSQL EXECUTE of its text, bound as a parameter: the extended protocol
// postgres-nio speaks takes one statement per query, EXECUTE takes a script, and no quoting of
// the file's text can go wrong. So a file cannot hold statements that refuse to run inside a
// transaction block (CREATE INDEX CONCURRENTLY, VACUUM), on PostgreSQL's own terms.
//
// The change log and the triggers of every served table are installed in the same transaction
// as each file, for the schema that file leaves: rows a later file writes into the tables are
// logged as any write. Rows a file leaves in a table it creates itself (which has no trigger
// while the file runs) are logged after it as created, in the same transaction
// (PostgresMigrator+CreatedRows.swift), as SQLite's migrator logs them.

import FeedbaseModel
import Logging
import PostgresNIO

public struct PostgresMigrator: Sendable {
    public var log: PostgresChangeLog
    /// The schema whose tables are served and logged.
    public var namespace: String

    public init(log: PostgresChangeLog = PostgresChangeLog(), namespace: String = "public") {
        self.log = log
        self.namespace = namespace
    }

    static let historyTable = "_migrations"
    /// The advisory lock's key: one per database, whatever the node.
    static let lockKey = "hashtext('feedbase.migrations')"

    var history: String { PostgresSQL.identifier(namespace) + "." + PostgresSQL.identifier(Self.historyTable) }

    /// Applies every pending file, each in its own transaction, then (re)installs the change log
    /// and its triggers for the schema as it is; returns the names applied. A failing file is
    /// rolled back completely and stops the run, naming the file.
    @discardableResult
    public func migrate(_ files: [MigrationFile], on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await locked(on: connection, logger: logger) {
            let applied = try await verifiedHistory(of: files, on: connection, logger: logger)
            var names: [String] = []
            for file in files where applied[file.name] == nil {
                do {
                    try await connection.withTransaction(logger: logger) { connection in
                        let before = try await tableIdentities(on: connection, logger: logger)
                        try await run(file.sql, on: connection, logger: logger)
                        try await connection.execute(
                            "INSERT INTO \(unescaped: history) (version, name, checksum) VALUES (\(file.number), \(file.name), \(file.checksum))",
                            logger: logger)
                        let served = try await installLog(on: connection, logger: logger)
                        try await logCreatedRows(of: served, before: before, on: connection, logger: logger)
                    }
                } catch {
                    throw StoreError(.migration, "migration \(file.name) failed and was rolled back: \(Self.describe(error))")
                }
                names.append(file.name)
            }
            // Also when nothing was pending: triggers made by an earlier version are brought up
            // to date, and a database migrated by another tool gets its log.
            if names.isEmpty {
                try await connection.withTransaction(logger: logger) { connection in _ = try await installLog(on: connection, logger: logger) }
            }
            return names
        }
    }

    /// Applied and pending migrations, after checking that history and files agree.
    public func status(of files: [MigrationFile], on connection: PostgresConnection, logger: Logger) async throws -> [MigrationStatus] {
        try await locked(on: connection, logger: logger) {
            MigrationDirectory.status(of: files, applied: try await verifiedHistory(of: files, on: connection, logger: logger))
        }
    }

    /// The log's tables and the triggers of every served table, in the caller's transaction, as
    /// PostgresChangeLog.install makes them (under its lock, so a node installing the log
    /// outside a migration waits for this transaction, and sees all of it or none).
    /// Returns the served collections.
    private func installLog(on connection: PostgresConnection, logger: Logger) async throws -> [CollectionSchema] {
        try await connection.execute("SELECT pg_advisory_xact_lock(hashtext('feedbase.changelog'))", logger: logger)
        let schema = try await PostgresIntrospector.schema(of: namespace, on: connection, logger: logger)
        let tables = schema.collections.map { PostgresTable($0, schema: namespace) }
        for statement in log.schemaStatements + tables.flatMap(log.triggerStatements) {
            try await connection.execute(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        return schema.collections
    }

    /// A script of any number of statements, in the caller's transaction.
    private func run(_ sql: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.execute(
            """
            CREATE OR REPLACE FUNCTION pg_temp.feedbase_migrate(script text) RETURNS void LANGUAGE plpgsql
            AS $feedbase$ BEGIN EXECUTE script; END $feedbase$
            """, logger: logger)
        try await connection.execute("SELECT pg_temp.feedbase_migrate(\(sql))", logger: logger)
    }

    /// `body` under the session advisory lock of migrations, released however it ends.
    private func locked<Result: Sendable>(
        on connection: PostgresConnection, logger: Logger, _ body: () async throws -> Result
    ) async throws -> Result {
        try await connection.execute("SELECT pg_advisory_lock(\(unescaped: Self.lockKey))", logger: logger)
        do {
            let result = try await body()
            try await connection.execute("SELECT pg_advisory_unlock(\(unescaped: Self.lockKey))", logger: logger)
            return result
        } catch {
            // The connection may be gone with the error; then the lock went with its session.
            _ = try? await connection.execute("SELECT pg_advisory_unlock(\(unescaped: Self.lockKey))", logger: logger)
            throw error
        }
    }

    /// Creates the history table if needed and checks it against the files.
    private func verifiedHistory(of files: [MigrationFile], on connection: PostgresConnection, logger: Logger) async throws -> [String: String] {
        try await connection.execute(
            """
            CREATE TABLE IF NOT EXISTS \(unescaped: history) (
                version integer PRIMARY KEY,
                name text NOT NULL UNIQUE,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        let rows = try await connection.query(
            "SELECT name, checksum, to_char(applied_at AT TIME ZONE 'UTC', \(unescaped: PostgresRowJSON.dateTimeFormat)) FROM \(unescaped: history) ORDER BY version",
            logger: logger)
        var history: [(name: String, checksum: String, appliedAt: String)] = []
        for try await (name, checksum, appliedAt) in rows.decode((String, String, String).self) {
            history.append((name, checksum, appliedAt))
        }
        return try MigrationDirectory.verify(history: history, against: files)
    }

    /// PostgreSQL's own message (and detail), not postgres-nio's description of the query.
    static func describe(_ error: any Error) -> String {
        if let transaction = error as? PostgresTransactionError, let inner = transaction.closureError { return describe(inner) }
        if let error = error as? PSQLError, let fields = error.serverInfo {
            let message = fields[.message] ?? "an error"
            return fields[.detail].map { "\(message) (\($0))" } ?? message
        }
        if let error = error as? StoreError { return error.message }
        return String(describing: error)
    }
}
