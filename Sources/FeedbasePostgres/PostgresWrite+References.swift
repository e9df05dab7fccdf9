// Foreign keys as the API answers them on PostgreSQL, as on SQLite (SQLiteStore+References.swift):
// a written reference must name an item that exists and that the identity may read, checked with
// the body's other problems so that one answer lists them all; a delete that other items still
// reference, or a change of a value they refer to it by, is a conflict naming the collections.

import FeedbaseModel
import PostgresNIO

extension PostgresWrite {
    /// The checked values of `fields`, with every single-column reference among them checked:
    /// all problems of the body in one `invalid` error, in column order; bad references of well
    /// typed values come back as `unresolved`, for the write to add the table's own failures to.
    func row(
        of fields: [BodyField], for collection: CollectionSchema, mode: WriteMode, pointerPrefix: String = "", makeID: () -> String,
        access: Access, pendingKeys: Set<SQLValue> = []
    ) async throws -> RowValues {
        var problems: [Violation] = []
        var row: RowValues?
        do {
            row = try RowValidator.values(of: fields, for: collection, mode: mode, pointerPrefix: pointerPrefix, makeID: makeID)
        } catch let error as StoreError where error.kind == .invalid {
            problems = error.violations
        }
        let byKey = Dictionary(fields.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        var ownKey = row?.value(of: collection.primaryKey.name)
        if ownKey == nil, let field = byKey[collection.primaryKey.name], case .success(let value) = RowValidator.value(of: field, for: collection.primaryKey) {
            ownKey = value
        }
        for column in collection.columns {
            guard let reference = column.references, let field = byKey[column.name] else { continue }
            let pointer = RequestBody.pointer(pointerPrefix, column.name)
            guard !problems.contains(where: { $0.pointer == pointer }),
                case .success(let value) = RowValidator.value(of: field, for: column), value != .null
            else { continue }
            // A row may refer to itself, or to a sibling the same request creates.
            if reference.table == collection.name, value == ownKey || pendingKeys.contains(value) { continue }
            guard let parent = collections[reference.table] else {
                // An unserved parent is checked as SQLite's engine checks it, and never named: else
                // PostgreSQL's own check fails the write alone, without the body's other problems.
                guard let parentColumn = reference.parentColumn,
                    try await !existsUnserved(value, in: reference.table, column: parentColumn, typedAs: column)
                else { continue }
                problems.append(Violation(pointer: pointer, detail: "the referenced item does not exist"))
                continue
            }
            guard let parentColumn = parent.column(reference.parentColumn ?? parent.primaryKey.name) else { continue }
            let scope = access.referenced[reference.table] ?? .all
            guard try await !exists(value, in: parent, column: parentColumn, scope: scope) else { continue }
            problems.append(Violation(pointer: pointer, detail: "no item \(Self.describe(value)) in \(reference.table)"))
        }
        guard var row else { throw StoreError.invalid(Self.ordered(problems, collection, pointerPrefix)) }
        row.unresolved = problems
        row.pointerPrefix = pointerPrefix
        return row
    }

    /// `problems` in the order of the columns they point at.
    static func ordered(_ problems: [Violation], _ collection: CollectionSchema, _ prefix: String) -> [Violation] {
        let order = Dictionary(
            collection.columns.enumerated().map { (RequestBody.pointer(prefix, $0.element.name), $0.offset) }, uniquingKeysWith: { first, _ in first })
        return problems.enumerated().sorted {
            (order[$0.element.pointer] ?? Int.max, $0.offset) < (order[$1.element.pointer] ?? Int.max, $1.offset)
        }.map(\.element)
    }

    /// Runs `write` of `row`; when the row has unresolved references, fails with them and with
    /// whatever constraint of the table the write broke (its savepoint took the write back).
    func reporting<T>(_ row: RowValues, in collection: CollectionSchema, _ write: () async throws -> T) async throws -> T {
        guard !row.unresolved.isEmpty else { return try await write() }
        var problems = row.unresolved
        do {
            _ = try await write()
        } catch let error as StoreError where [.conflict, .constraint].contains(error.kind) {
            problems += error.located(in: collection, at: row.pointerPrefix).violations
        } catch let error as StoreError where [.foreignKey, .referenced].contains(error.kind) {
            // The reference already reported.
        }
        throw StoreError.invalid(Self.ordered(problems, collection, row.pointerPrefix))
    }

    /// Whether a row of `parent` whose `column` is `value` exists and is in `scope`.
    private func exists(_ value: SQLValue, in parent: CollectionSchema, column: Column, scope: RowScope) async throws -> Bool {
        guard scope != .none else { return false }
        var sql = PostgresBoundSQL()
        let table = PostgresSQL.identifier(parent.name)
        guard let operand = PostgresConditions.operand(value, for: column, into: &sql) else { return false }
        let admission = try Self.admission(scope, parent, row: table, into: &sql)
        sql.text = "SELECT 1 FROM \(table) WHERE \(PostgresConditions.comparable(column, row: table)) = \(operand) AND \(admission) LIMIT 1"
        return try await !rows(sql).isEmpty
    }

    /// Whether a row of the unserved `table` whose `column` is `value` exists, the value typed as
    /// the referencing column (a foreign key's two columns compare alike); true when the value
    /// has no operand, for PostgreSQL's own check to decide.
    private func existsUnserved(_ value: SQLValue, in table: String, column: String, typedAs referencing: Column) async throws -> Bool {
        var sql = PostgresBoundSQL()
        guard let operand = PostgresConditions.operand(value, for: referencing, into: &sql) else { return true }
        var parentColumn = referencing
        parentColumn.name = column
        let row = PostgresSQL.identifier(table)
        sql.text = "SELECT 1 FROM \(row) WHERE \(PostgresConditions.comparable(parentColumn, row: row)) = \(operand) LIMIT 1"
        return try await !rows(sql).isEmpty
    }

    private static func describe(_ value: SQLValue) -> String {
        switch value {
        case .integer(let integer): "\(integer)"
        case .real(let real): "\(real)"
        case .text(let text): "'\(text)'"
        case .null, .blob: "with this key"
        }
    }

    /// Runs `delete`; a foreign-key failure it raises is a conflict naming the served collections
    /// whose items still refer to the item.
    func deleting(_ collection: CollectionSchema, key: SQLValue, _ delete: () async throws -> Void) async throws {
        do {
            try await delete()
        } catch let error as StoreError where error.kind == .foreignKey {
            var referencing: [String] = []
            for child in collections.values.sorted(by: { $0.name < $1.name }) {
                for reference in child.foreignKeys where reference.table == collection.name && !referencing.contains(child.name) {
                    var sql = PostgresBoundSQL()
                    let table = PostgresSQL.identifier(collection.name)
                    guard let condition = Self.keyCondition(collection, key: key, row: table, into: &sql) else { continue }
                    let parentColumn = PostgresSQL.identifier(reference.parentColumn ?? collection.primaryKey.name)
                    sql.text = "SELECT 1 FROM \(PostgresSQL.identifier(child.name)) WHERE \(PostgresSQL.identifier(reference.column)) = "
                        + "(SELECT \(parentColumn) FROM \(table) WHERE \(condition)) LIMIT 1"
                    if try await !rows(sql).isEmpty { referencing.append(child.name) }
                }
            }
            let who = referencing.isEmpty ? "other items" : "items of " + referencing.joined(separator: ", ")
            throw StoreError(.referenced, "\(who) still refer to this item; delete them or change their reference first")
        }
    }

    /// Runs `update`; a foreign-key failure it raises because it changes a value other rows
    /// still refer to is a conflict naming their served collections and the column.
    func updating<T>(
        _ collection: CollectionSchema, assignments: [(column: Column, value: Assignment)], key: SQLValue, _ update: () async throws -> T
    ) async throws -> T {
        do {
            return try await update()
        } catch let error as StoreError where error.kind == .foreignKey && error.message.contains("update or delete on table") {
            // Every single-column foreign key to the table, served or not, from the catalog.
            var keysSQL = PostgresBoundSQL()
            keysSQL.text = """
                SELECT child.relname::text, ca.attname::text, pa.attname::text
                FROM pg_constraint c JOIN pg_class parent ON parent.oid = c.confrelid JOIN pg_namespace n ON n.oid = parent.relnamespace
                JOIN pg_class child ON child.oid = c.conrelid
                JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = c.conkey[1]
                JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
                WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1 AND n.nspname = \(keysSQL.bind(namespace))
                  AND parent.relname = \(keysSQL.bind(collection.name))
                ORDER BY child.relname
                """
            let keys = try await rows(keysSQL).map { try $0.decode((String, String, String).self) }
            var referencing: [String] = []
            var unnamed = false
            var columns: [String] = []
            let table = PostgresSQL.identifier(collection.name)
            for (childTable, childColumn, parentColumn) in keys {
                guard let assignment = assignments.first(where: { $0.column.name == parentColumn }) else { continue }
                // The failed statement changed nothing: the row still holds the old value.
                var sql = PostgresBoundSQL()
                let column = PostgresSQL.identifier(parentColumn)
                guard let condition = Self.keyCondition(collection, key: key, row: "parent", into: &sql) else { continue }
                let newValue = Self.render(assignment.value, assignment.column, into: &sql)
                guard newValue != "DEFAULT" else { continue }
                sql.text = "SELECT 1 FROM \(table) AS parent WHERE \(condition) AND parent.\(column) IS DISTINCT FROM (\(newValue)) "
                    + "AND EXISTS (SELECT 1 FROM \(PostgresSQL.identifier(childTable)) WHERE \(PostgresSQL.identifier(childColumn)) = parent.\(column))"
                guard try await !rows(sql).isEmpty else { continue }
                if collections[childTable] == nil { unnamed = true } else if !referencing.contains(childTable) { referencing.append(childTable) }
                if !columns.contains(parentColumn) { columns.append(parentColumn) }
            }
            guard !columns.isEmpty else { throw error }
            let who = referencing.isEmpty ? "other items" : "items of " + referencing.joined(separator: ", ") + (unnamed ? " and others" : "")
            let message = "\(who) still refer to this item by its \(columns.joined(separator: ", ")); change their reference first, or keep the value"
            var conflict = StoreError(.referenced, message)
            conflict.violations = columns.map { Violation(pointer: RequestBody.pointer("", $0), detail: message) }
            throw conflict
        }
    }
}
