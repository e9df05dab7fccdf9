// Rows a migration leaves in a table it created, logged as SQLite's migrator logs them
// (docs/SCHEMA.md, docs/POSTGRES-SCHEMA.md): SQLite rebuilds its triggers around each schema
// statement, so a file's INSERT into its new table runs under them. PostgreSQL runs a file as one
// EXECUTE (no statement boundaries to act at, and an event trigger would need a superuser), so
// the table has no trigger while the file runs. Instead, in the file's transaction, once the
// triggers are installed for the schema it leaves, each row of each table the file created is
// logged as a `create` with the row as it stands: the same events a subscriber would replay to
// reach the table, parents before the tables that refer to them, rows in key order.

import FeedbaseModel
import Logging
import PostgresNIO

extension PostgresMigrator {
    /// The tables of the namespace, by OID: a table the file creates has one not among them
    /// (one dropped and made again too; one renamed keeps its own).
    func tableIdentities(on connection: PostgresConnection, logger: Logger) async throws -> Set<Int64> {
        let rows = try await connection.query(
            """
            SELECT c.oid::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(namespace) AND c.relkind IN ('r', 'p')
            """, logger: logger)
        var identities = Set<Int64>()
        for try await oid in rows.decode(Int64.self) { identities.insert(oid) }
        return identities
    }

    /// Logs every row of the served tables not in `before` as created, in the caller's
    /// transaction (the log's triggers already installed for the schema as it is).
    func logCreatedRows(of collections: [CollectionSchema], before: Set<Int64>, on connection: PostgresConnection, logger: Logger) async throws {
        var created: [CollectionSchema] = []
        for collection in collections {
            let table = PostgresSQL.identifier(namespace) + "." + PostgresSQL.identifier(collection.name)
            let rows = try await connection.query("SELECT to_regclass(\(table))::oid::int8", logger: logger)
            for try await oid in rows.decode(Int64?.self) where oid.map({ !before.contains($0) }) ?? false { created.append(collection) }
        }
        for collection in Self.parentsFirst(created) {
            try await logRows(of: PostgresTable(collection, schema: namespace), on: connection, logger: logger)
        }
    }

    /// `collections` ordered so that a table comes after those it refers to (a cycle in name order).
    static func parentsFirst(_ collections: [CollectionSchema]) -> [CollectionSchema] {
        var pending = collections.sorted { $0.name < $1.name }
        var ordered: [CollectionSchema] = []
        while !pending.isEmpty {
            let names = Set(pending.map(\.name))
            let index = pending.firstIndex { collection in
                collection.columns.allSatisfy { column in
                    guard let parent = column.references?.table else { return true }
                    return parent == collection.name || !names.contains(parent)
                }
            } ?? 0
            ordered.append(pending.remove(at: index))
        }
        return ordered
    }

    /// One `create` per row of `table`, in key order, numbered after the transaction's events so
    /// far exactly as the row trigger numbers them (`feedbase.ord`, `feedbase.open`: the ticket
    /// covers them at commit).
    private func logRows(of table: PostgresTable, on connection: PostgresConnection, logger: Logger) async throws {
        var count: Int64 = 0
        for try await n in try await connection.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table.qualifiedName)"), logger: logger).decode(Int64.self) {
            count = n
        }
        guard count > 0 else { return }
        var last: Int64 = 0, opens = false
        let settings = try await connection.query(
            "SELECT coalesce(nullif(current_setting('feedbase.ord', true), ''), '0')::int8, coalesce(current_setting('feedbase.open', true), '') = ''",
            logger: logger)
        for try await (ord, open) in settings.decode((Int64, Bool).self) { (last, opens) = (ord, open) }
        // The settings first, as the trigger sets them: a ticket taken at the INSERT's end reads them.
        let first = last + 1
        if opens { try await connection.execute("SELECT set_config('feedbase.open', \(String(first)), true)", logger: logger) }
        try await connection.execute("SELECT set_config('feedbase.ord', \(String(last + count)), true)", logger: logger)
        let key = "r." + PostgresSQL.identifier(table.primaryKey)
        let number = "row_number() OVER (ORDER BY \(key))"
        try await connection.execute(
            PostgresQuery(unsafeSQL: """
                INSERT INTO \(log.events) (tx, ord, opens, collection, op, item_id, item, previous)
                SELECT pg_current_xact_id(), \(last) + \(number), \(number) = 1 AND \(opens), \(PostgresSQL.literal(table.name)), 'create',
                       \(PostgresRowJSON.keyTextExpression(table, row: "r")), \(PostgresRowJSON.objectExpression(table, row: "r")), NULL
                FROM \(table.qualifiedName) r
                """), logger: logger)
    }
}
