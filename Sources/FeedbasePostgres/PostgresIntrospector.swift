// Builds FeedbaseModel's Schema from PostgreSQL's catalog (pg_class, pg_attribute, pg_attrdef,
// pg_index, pg_constraint), as Introspector does from SQLite's pragmas: the same collections,
// columns, keys and references for the same tables, so both engines serve one API
// (docs/SCHEMA.md). Column types are PostgresRowJSON's mapping of `format_type`, which each
// column keeps as its declared type.

import FeedbaseModel
import Logging
import PostgresNIO

public enum PostgresIntrospector {
    /// The served tables of `schema` (a PostgreSQL schema, `public` by default) and the
    /// skipped ones with their reasons.
    public static func schema(of namespace: String = "public", on connection: PostgresConnection, logger: Logger) async throws -> Schema {
        let tables = try await connection.query(
            """
            SELECT c.oid::bigint, c.relname::text, c.relkind::text, c.relispartition
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(namespace) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            ORDER BY c.relname
            """, logger: logger)
        var found: [(oid: Int64, name: String, kind: String, partition: Bool)] = []
        for try await (oid, name, kind, partition) in tables.decode((Int64, String, String, Bool).self) {
            found.append((oid, name, kind, partition))
        }
        var collections: [CollectionSchema] = []
        var skipped: [SkippedTable] = []
        for table in found {
            if table.name.hasPrefix("_") {
                skipped.append(SkippedTable(name: table.name, reason: "internal table (name starts with '_')"))
                continue
            }
            switch table.kind {
            case "r", "p": break
            case "v", "m":
                skipped.append(SkippedTable(name: table.name, reason: "views are not served"))
                continue
            default:
                skipped.append(SkippedTable(name: table.name, reason: "foreign tables are not served"))
                continue
            }
            if table.partition {
                skipped.append(SkippedTable(name: table.name, reason: "a partition: its partitioned table is served"))
                continue
            }
            switch try await collection(table.name, oid: table.oid, on: connection, logger: logger) {
            case .collection(let collection): collections.append(collection)
            case .skipped(let reason): skipped.append(reason)
            }
        }
        return Schema(collections: collections, skipped: skipped)
    }

    enum CollectionOrSkipped {
        case collection(CollectionSchema)
        case skipped(SkippedTable)
    }

    private struct RawColumn {
        var name: String, type: String, notNull: Bool, defaultSQL: String?, identity: Bool, generated: Bool, composite: Bool
    }

    private static func collection(_ table: String, oid: Int64, on connection: PostgresConnection, logger: Logger) async throws -> CollectionOrSkipped {
        let columnRows = try await connection.query(
            """
            SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), a.attidentity::text <> '', a.attgenerated::text <> '',
                   t.typtype::text = 'c'
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = \(oid)::oid AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """, logger: logger)
        var raw: [RawColumn] = []
        for try await (name, type, notNull, defaultSQL, identity, generated, composite) in columnRows.decode(
            (String, String, Bool, String?, Bool, Bool, Bool).self)
        {
            raw.append(RawColumn(name: name, type: type, notNull: notNull, defaultSQL: defaultSQL, identity: identity, generated: generated, composite: composite))
        }
        // An array or a row type reads as to_json writes it (an array, an object): no column type
        // of the API says so, so such a table is not served rather than described wrongly.
        if let odd = raw.first(where: { $0.type.hasSuffix("]") || $0.composite }) {
            return .skipped(SkippedTable(name: table, reason: "column '\(odd.name)' has type \(odd.type), which has no JSON mapping"))
        }

        // Indexes: the primary key, unique column sets and index leaders, each as column names.
        let indexRows = try await connection.query(
            """
            SELECT i.indisprimary, i.indisunique, i.indpred IS NULL, 0 = ANY (i.indkey::int2[]),
                   array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, pos)
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num ORDER BY k.pos)
            FROM pg_index i
            WHERE i.indrelid = \(oid)::oid
            ORDER BY i.indisprimary DESC, i.indexrelid
            """, logger: logger)
        var keyColumns: [String] = []
        var uniques: [[String]] = []
        var leaders = Set<String>()
        for try await (primary, unique, full, onExpression, names) in indexRows.decode((Bool, Bool, Bool, Bool, [String]).self) {
            if primary { keyColumns = names }
            // Indexes on expressions name no column; partial ones hold only some rows.
            guard full, !onExpression, let first = names.first else { continue }
            leaders.insert(first)
            if unique, !uniques.contains(names) { uniques.append(names) }
        }
        guard keyColumns.count == 1, let keyName = keyColumns.first else {
            let reason = keyColumns.isEmpty ? "no declared PRIMARY KEY" : "composite PRIMARY KEY (\(keyColumns.count) columns)"
            return .skipped(SkippedTable(name: table, reason: reason))
        }

        let foreignRows = try await connection.query(
            """
            SELECT c.conname::text, p.relname::text, c.confupdtype::text, c.confdeltype::text,
                   array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(num, pos)
                         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.pos),
                   array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(num, pos)
                         JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num ORDER BY k.pos)
            FROM pg_constraint c JOIN pg_class p ON p.oid = c.confrelid
            WHERE c.conrelid = \(oid)::oid AND c.contype = 'f'
            ORDER BY c.oid
            """, logger: logger)
        var foreignKeys: [ForeignKey] = []
        var singleColumnKeys: [String: ForeignKey] = [:]
        for try await (_, parent, onUpdate, onDelete, columns, parentColumns) in foreignRows.decode(
            (String, String, String, String, [String], [String]).self)
        {
            for (column, parentColumn) in zip(columns, parentColumns) {
                let key = ForeignKey(column: column, table: parent, parentColumn: parentColumn, onDelete: action(onDelete), onUpdate: action(onUpdate))
                foreignKeys.append(key)
                // Only a single-column reference describes one column (the first, as on SQLite).
                if columns.count == 1, singleColumnKeys[column] == nil { singleColumnKeys[column] = key }
            }
        }

        var columns: [Column] = []
        for column in raw {
            let isKey = column.name == keyName
            columns.append(Column(
                name: column.name,
                declaredType: column.type,
                type: PostgresRowJSON.columnType(column.type),
                nullable: !column.notNull && !isKey,
                // A generated column's expression is no default: it cannot be written.
                defaultSQL: column.generated ? nil : column.defaultSQL,
                isPrimaryKey: isKey,
                isUnique: isKey || uniques.contains([column.name]),
                isGenerated: column.generated,
                references: singleColumnKeys[column.name]))
        }
        guard let primaryKey = columns.first(where: \.isPrimaryKey), let rawKey = raw.first(where: { $0.name == keyName }) else {
            return .skipped(SkippedTable(name: table, reason: "no declared PRIMARY KEY"))
        }
        if !uniques.contains([keyName]) { uniques.insert([keyName], at: 0) }
        return .collection(CollectionSchema(
            name: table, columns: columns, primaryKey: primaryKey, keyAssignment: keyAssignment(primaryKey, raw: rawKey),
            uniqueConstraints: uniques, foreignKeys: foreignKeys, hasRowID: false, indexLeaders: leaders))
    }

    /// Who gives a new item its key: the database for an identity or serial integer (SQLite's
    /// INTEGER PRIMARY KEY), the server (a UUIDv7) for a text key without a default that can
    /// hold one, as on SQLite; any other key is the client's, or its default's when it has one.
    private static func keyAssignment(_ key: Column, raw: RawColumn) -> KeyAssignment {
        if key.type == .integer, raw.identity || (raw.defaultSQL?.hasPrefix("nextval(") ?? false) { return .serverInteger }
        let base = PostgresRowJSON.baseType(key.declaredType)
        let holdsUUID = base == "text" || base == "uuid" || key.declaredType == "character varying"
        if key.type == .string, raw.defaultSQL == nil, !raw.generated, holdsUUID { return .serverText }
        return .client
    }

    /// pg_constraint's action codes in the words SQLite's foreign_key_list uses.
    static func action(_ code: String) -> String {
        switch code {
        case "r": "RESTRICT"
        case "c": "CASCADE"
        case "n": "SET NULL"
        case "d": "SET DEFAULT"
        default: "NO ACTION"
        }
    }
}
