// What the PostgreSQL engine needs to know of a served table to log its changes and build its
// rows' JSON: its name, its primary key and each column's PostgreSQL type as `format_type`
// writes it. Read from the catalog, or made from the engine-neutral schema model.

import FeedbaseModel
import Logging
import PostgresNIO

public struct PostgresColumn: Sendable, Equatable {
    public var name: String
    /// The type as `format_type` writes it: `bigint`, `timestamp with time zone`, `bytea`, ….
    public var type: String

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }

    /// The column's JSON type (docs/SCHEMA.md), from its PostgreSQL type.
    public var jsonType: ColumnType { PostgresRowJSON.columnType(type) }
}

public struct PostgresTable: Sendable, Equatable {
    public var schema: String
    public var name: String
    /// In table order.
    public var columns: [PostgresColumn]
    public var primaryKey: String

    public init(schema: String = "public", name: String, columns: [PostgresColumn], primaryKey: String) {
        self.schema = schema
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
    }

    /// From the schema model, whose declared types are PostgreSQL's when the engine introspected them.
    public init(_ collection: CollectionSchema, schema: String = "public") {
        self.init(
            schema: schema, name: collection.name,
            columns: collection.columns.map { PostgresColumn(name: $0.name, type: $0.declaredType) },
            primaryKey: collection.primaryKey.name)
    }

    /// `"schema"."name"`.
    public var qualifiedName: String { PostgresSQL.identifier(schema) + "." + PostgresSQL.identifier(name) }

    /// The table as the catalog describes it now, or nil when it does not exist or has no
    /// single-column primary key (the log names an item by its one key column).
    public static func read(_ name: String, schema: String = "public", on connection: PostgresConnection, logger: Logger) async throws -> PostgresTable? {
        let rows = try await connection.query(
            """
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
                   coalesce(a.attnum = ANY (i.indkey::int2[]) AND array_length(i.indkey::int2[], 1) = 1, false)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
            WHERE n.nspname = \(schema) AND c.relname = \(name) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """, logger: logger)
        var columns: [PostgresColumn] = []
        var key: String?
        for try await (column, type, isKey) in rows.decode((String, String, Bool).self) {
            columns.append(PostgresColumn(name: column, type: type))
            if isKey { key = column }
        }
        guard let key, !columns.isEmpty else { return nil }
        return PostgresTable(schema: schema, name: name, columns: columns, primaryKey: key)
    }
}
