// Foreign keys as the API answers them. A written reference must name an item that exists and
// that the identity may read (a hidden item is an absent one, so a reference cannot probe for
// it); it is checked with the body's other problems, so one answer lists them all. A delete that
// other items still reference, or a change of a value they refer to it by, is a conflict naming
// the collection that references it.

import FeedbaseModel

extension SQLiteStore {
    /// The checked values of `fields` (RowValidator.values), with every single-column reference
    /// among them checked too: all problems of the body in one `invalid` error, in column order;
    /// when the values are all well typed, bad references come back as `unresolved`, for the
    /// write to add the table's constraint failures to (`reporting`).
    /// `pendingKeys` are keys of `collection` this request itself creates (a bulk create's
    /// items): a reference to one of them is left to SQLite, which checks it as the rows go in.
    static func row(
        of fields: [BodyField], for collection: CollectionSchema, mode: WriteMode, pointerPrefix: String = "", makeID: () -> String,
        access: Access, collections: [String: CollectionSchema], pendingKeys: Set<SQLValue> = [], on connection: Connection
    ) throws -> RowValues {
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
            let parent = collections[reference.table]
            // A row may refer to itself, or to a sibling the same request creates.
            if reference.table == collection.name, value == ownKey || pendingKeys.contains(value) { continue }
            guard let parentColumn = reference.parentColumn ?? parent?.primaryKey.name else { continue }  // SQLite decides
            let scope = parent == nil ? RowScope.all : access.referenced[reference.table] ?? .all
            guard try !exists(value, in: reference.table, column: parentColumn, scope: scope, parent: parent, on: connection) else { continue }
            // An unserved table is never named.
            let detail = parent == nil ? "the referenced item does not exist" : "no item \(describe(value)) in \(reference.table)"
            problems.append(Violation(pointer: pointer, detail: detail))
        }
        guard var row else { throw StoreError.invalid(ordered(problems, collection, pointerPrefix)) }
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
    /// whatever constraint of the table the write broke (the job's savepoint takes the write back).
    static func reporting<T>(_ row: RowValues, in collection: CollectionSchema, _ write: () throws -> T) throws -> T {
        guard !row.unresolved.isEmpty else { return try write() }
        var problems = row.unresolved
        do {
            _ = try write()
        } catch let error as StoreError where [.conflict, .constraint].contains(error.kind) {
            problems += error.located(in: collection, at: row.pointerPrefix).violations
        } catch let error as StoreError where [.foreignKey, .referenced].contains(error.kind) {
            // The reference already reported (a change of a referenced value is the next answer).
        }
        throw StoreError.invalid(ordered(problems, collection, row.pointerPrefix))
    }

    /// Whether a row of `table` whose `column` is `value` exists and is in `scope`.
    private static func exists(
        _ value: SQLValue, in table: String, column: String, scope: RowScope, parent: CollectionSchema?, on connection: Connection
    ) throws -> Bool {
        var sql = BoundSQL()
        let placeholder = sql.bind(value)
        var text = "SELECT 1 FROM \(quoteIdentifier(table)) WHERE \(quoteIdentifier(column)) = \(placeholder)"
        switch scope {
        case .none: return false
        case .all: break
        case .rows(let filters):
            guard let parent else { break }
            text += try SQLConditions.rule(filters, of: parent, into: &sql, on: connection).map { " AND " + $0 }.joined()
        }
        return try connection.scalarInt(text + " LIMIT 1", sql.values) != nil
    }

    private static func describe(_ value: SQLValue) -> String {
        switch value {
        case .integer(let integer): "\(integer)"
        case .real(let real): "\(real)"
        case .text(let text): "'\(text)'"
        case .null, .blob: "with this key"
        }
    }

    /// Runs `delete`; a foreign-key failure it raises is a conflict with the served collection
    /// whose items still refer to the item (a `_` table is never named).
    static func deleting(
        _ collection: CollectionSchema, key: SQLValue, collections: [String: CollectionSchema], on connection: Connection,
        _ delete: () throws -> Void
    ) throws {
        do {
            try delete()
        } catch let error as StoreError where error.kind == .foreignKey {
            var referencing: [String] = []
            for child in collections.values.sorted(by: { $0.name < $1.name }) {
                for reference in child.foreignKeys where reference.table == collection.name && !referencing.contains(child.name) {
                    let parentColumn = quoteIdentifier(reference.parentColumn ?? collection.primaryKey.name)
                    let sql = "SELECT 1 FROM \(quoteIdentifier(child.name)) WHERE \(quoteIdentifier(reference.column)) = "
                        + "(SELECT \(parentColumn) FROM \(quoteIdentifier(collection.name)) WHERE \(quoteIdentifier(collection.primaryKey.name)) = ?1) LIMIT 1"
                    if try connection.scalarInt(sql, [key]) != nil { referencing.append(child.name) }
                }
            }
            let who = referencing.isEmpty ? "other items" : "items of " + referencing.joined(separator: ", ")
            throw StoreError(.referenced, "\(who) still refer to this item; delete them or change their reference first", sqliteCode: error.sqliteCode)
        }
    }

    /// Runs `update`; a foreign-key failure it raises because it changes a value (a UNIQUE
    /// column's) that other rows still refer to, without ON UPDATE CASCADE, is a conflict naming
    /// the served collections they belong to and the column, as a delete's is (a `_` table is
    /// never named). `assignments` and `values` are the UPDATE's (its values bound as `?N`, the
    /// item's key as `keyPlaceholder`).
    static func updating<T>(
        _ collection: CollectionSchema, assignments: [(column: Column, value: String)], keyPlaceholder: String, values: [SQLValue],
        collections: [String: CollectionSchema], on connection: Connection, _ update: () throws -> T
    ) throws -> T {
        do {
            return try update()
        } catch let error as StoreError where error.kind == .foreignKey {
            // Every foreign key to the table, served or not.
            let keys = try connection.query(
                "SELECT m.name, f.\"from\", f.\"to\" FROM sqlite_schema AS m JOIN pragma_foreign_key_list(m.name) AS f "
                    + "WHERE m.type = 'table' AND f.\"table\" = ?1 ORDER BY m.name", [.text(collection.name)]
            ) { (table: $0.text(0) ?? "", column: $0.text(1) ?? "", parentColumn: $0.text(2)) }
            var referencing: [String] = []
            var unnamed = false
            var columns: [String] = []
            let table = quoteIdentifier(collection.name)
            for key in keys {
                let parentColumn = key.parentColumn ?? collection.primaryKey.name
                guard let assignment = assignments.first(where: { $0.column.name == parentColumn }) else { continue }
                // The failed statement changed nothing: the row still holds the old value.
                let column = quoteIdentifier(parentColumn)
                let sql = "SELECT 1 FROM \(table) AS parent WHERE \(quoteIdentifier(collection.primaryKey.name)) = \(keyPlaceholder) "
                    + "AND \(column) IS NOT (\(assignment.value)) AND EXISTS (SELECT 1 FROM \(quoteIdentifier(key.table)) "
                    + "WHERE \(quoteIdentifier(key.column)) = parent.\(column))"
                guard try connection.scalarInt(sql, values) != nil else { continue }
                if collections[key.table] == nil { unnamed = true } else if !referencing.contains(key.table) { referencing.append(key.table) }
                if !columns.contains(parentColumn) { columns.append(parentColumn) }
            }
            guard !columns.isEmpty else { throw error }
            let who = referencing.isEmpty ? "other items" : "items of " + referencing.joined(separator: ", ") + (unnamed ? " and others" : "")
            let message = "\(who) still refer to this item by its \(columns.joined(separator: ", ")); change their reference first, or keep the value"
            var conflict = StoreError(.referenced, message, sqliteCode: error.sqliteCode)
            conflict.violations = columns.map { Violation(pointer: RequestBody.pointer("", $0), detail: message) }
            throw conflict
        }
    }
}
