// Builds the Schema model from SQLite's own catalogue: PRAGMA table_list, table_xinfo,
// index_list/index_info and foreign_key_list.

import FeedbaseModel

enum Introspector {
    enum CollectionOrSkipped {
        case collection(CollectionSchema)
        case skipped(SkippedTable)
    }

    static func schema(of connection: Connection) throws -> Schema {
        let tables = try connection.query(
            "SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main' ORDER BY name"
        ) { (name: $0.text(0) ?? "", type: $0.text(1) ?? "", withoutRowID: $0.int64(2) != 0) }

        var collections: [CollectionSchema] = []
        var skipped: [SkippedTable] = []
        for table in tables {
            if table.name.hasPrefix("sqlite_") || table.name.hasPrefix("_") {
                skipped.append(SkippedTable(name: table.name, reason: "internal table (name starts with '_' or 'sqlite_')"))
                continue
            }
            switch table.type {
            case "table": break
            case "view":
                skipped.append(SkippedTable(name: table.name, reason: "views are not served"))
                continue
            default:
                skipped.append(SkippedTable(name: table.name, reason: "\(table.type) tables are not served"))
                continue
            }
            switch try collection(table.name, withoutRowID: table.withoutRowID, on: connection) {
            case .collection(let collection): collections.append(collection)
            case .skipped(let reason): skipped.append(reason)
            }
        }
        return Schema(collections: collections, skipped: skipped)
    }

    private static func collection(
        _ table: String, withoutRowID: Bool, on connection: Connection
    ) throws -> CollectionOrSkipped {
        struct RawColumn {
            var name: String, declaredType: String, notNull: Bool, defaultSQL: String?, pkIndex: Int64, hidden: Int64
        }
        let raw = try connection.query(
            "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid",
            [.text(table)]
        ) {
            RawColumn(
                name: $0.text(0) ?? "", declaredType: $0.text(1) ?? "", notNull: $0.int64(2) != 0,
                defaultSQL: $0.text(3), pkIndex: $0.int64(4), hidden: $0.int64(5))
        }
        // hidden = 1 marks a virtual table's hidden column; 2 and 3 are generated columns.
        let visible = raw.filter { $0.hidden != 1 }
        let keyColumns = visible.filter { $0.pkIndex > 0 }
        guard keyColumns.count == 1, let key = keyColumns.first else {
            let reason = keyColumns.isEmpty
                ? "no declared PRIMARY KEY" : "composite PRIMARY KEY (\(keyColumns.count) columns)"
            return .skipped(SkippedTable(name: table, reason: reason))
        }

        let uniqueConstraints = try uniqueColumnSets(of: table, on: connection)
        let foreignKeys = try connection.query(
            "SELECT id, \"from\", \"table\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
            [.text(table)]
        ) {
            (id: $0.int64(0), fk: ForeignKey(
                column: $0.text(1) ?? "", table: $0.text(2) ?? "", parentColumn: $0.text(3),
                onDelete: $0.text(5) ?? "NO ACTION", onUpdate: $0.text(4) ?? "NO ACTION"))
        }
        // Only a single-column reference describes one column; composite ones stay on the table.
        let referenceCounts = Dictionary(grouping: foreignKeys, by: \.id).mapValues(\.count)

        let isRowIDAlias = !withoutRowID && key.declaredType.uppercased() == "INTEGER"
        var columns: [Column] = []
        for column in visible {
            let isKey = column.pkIndex > 0
            let type = ColumnType(declaredType: column.declaredType)
            let reference = foreignKeys.first { $0.fk.column == column.name && referenceCounts[$0.id] == 1 }?.fk
            columns.append(Column(
                name: column.name,
                declaredType: column.declaredType,
                type: type,
                nullable: !column.notNull && !isKey,
                defaultSQL: column.defaultSQL,
                isPrimaryKey: isKey,
                isUnique: isKey || uniqueConstraints.contains([column.name]),
                isGenerated: column.hidden == 2 || column.hidden == 3,
                references: reference))
        }
        guard let primaryKey = columns.first(where: \.isPrimaryKey) else {
            return .skipped(SkippedTable(name: table, reason: "no declared PRIMARY KEY"))
        }
        let assignment: KeyAssignment =
            isRowIDAlias ? .serverInteger : (primaryKey.type == .string ? .serverText : .client)
        var uniques = uniqueConstraints
        if !uniques.contains([primaryKey.name]) { uniques.insert([primaryKey.name], at: 0) }
        return .collection(CollectionSchema(
            name: table, columns: columns, primaryKey: primaryKey, keyAssignment: assignment,
            uniqueConstraints: uniques, foreignKeys: foreignKeys.map(\.fk), hasRowID: !withoutRowID,
            indexLeaders: try indexLeaders(of: table, on: connection)))
    }

    /// The first column of every full (not partial) index on the table.
    private static func indexLeaders(of table: String, on connection: Connection) throws -> Set<String> {
        Set(try connection.query(
            "SELECT info.name FROM pragma_index_list(?1) AS list, pragma_index_info(list.name) AS info "
                + "WHERE list.partial = 0 AND info.seqno = 0 AND info.name IS NOT NULL",
            [.text(table)]
        ) { $0.text(0) }.compactMap { $0 })
    }

    /// Column sets of every full (not partial) unique index, including those behind UNIQUE and
    /// PRIMARY KEY constraints. Indexes on expressions are left out: they name no column.
    private static func uniqueColumnSets(of table: String, on connection: Connection) throws -> [[String]] {
        let indexes = try connection.query(
            "SELECT name FROM pragma_index_list(?1) WHERE \"unique\" = 1 AND partial = 0 ORDER BY seq DESC",
            [.text(table)]
        ) { $0.text(0) ?? "" }
        var sets: [[String]] = []
        for index in indexes {
            let names = try connection.query(
                "SELECT name FROM pragma_index_info(?1) ORDER BY seqno", [.text(index)]
            ) { $0.text(0) }
            guard !names.isEmpty, names.allSatisfy({ $0 != nil }) else { continue }
            let set = names.compactMap { $0 }
            if !sets.contains(set) { sets.append(set) }
        }
        return sets
    }
}
