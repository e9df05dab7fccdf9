// One write transaction of the PostgreSQL engine on a connection of the pool, and the statements
// its operations share: values bound as the columns' types, items read (and locked) with their
// access scopes judged in the same statement, each row statement in a savepoint so that a failed
// one can be named (a CHECK's columns, the collection that still refers to an item) and a bulk
// create can go on to list every item's problems, as SQLite's does in its savepoint.

import FeedbaseModel
import Logging
import PostgresNIO

struct PostgresWrite {
    let connection: PostgresConnection
    let collections: [String: CollectionSchema]
    let namespace: String
    let logger: Logger

    // MARK: Statements

    func rows(_ sql: PostgresBoundSQL) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await connection.query(sql.query, logger: logger) { rows.append(row) }
        return rows
    }

    func run(_ text: String) async throws {
        try await connection.execute(PostgresQuery(unsafeSQL: text), logger: logger)
    }

    /// `body` in a savepoint: a failure rolls back to it (the transaction goes on) and is thrown
    /// as a StoreError, a CHECK's with the columns of its constraint.
    func attempt<T>(_ body: () async throws -> T) async throws -> T {
        try await run("SAVEPOINT feedbase_write")
        do {
            let result = try await body()
            try await run("RELEASE SAVEPOINT feedbase_write")
            return result
        } catch {
            try await run("ROLLBACK TO SAVEPOINT feedbase_write")
            var mapped = PostgresErrors.storeError(error)
            if let (table, name) = PostgresErrors.checkConstraint(error) { mapped.columns = try await checkColumns(table, name) }
            throw mapped
        }
    }

    /// The columns a CHECK constraint mentions, in table order (as SQLite's are named).
    private func checkColumns(_ table: String, _ name: String) async throws -> [String] {
        var sql = PostgresBoundSQL()
        sql.text = """
            SELECT a.attname::text FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
            WHERE n.nspname = \(sql.bind(namespace)) AND t.relname = \(sql.bind(table)) AND c.conname = \(sql.bind(name))
            ORDER BY a.attnum
            """
        return try await rows(sql).map { try $0.decode(String.self) }
    }

    // MARK: Values

    /// The SQL of `value` stored in `column`, bound; values are checked by RowValidator first.
    static func value(_ value: SQLValue, for column: Column, into sql: inout PostgresBoundSQL) -> String {
        let base = PostgresRowJSON.baseType(column.declaredType)
        switch (column.type, value) {
        case (_, .null):
            return "NULL"
        case (.boolean, .integer(let flag)):
            return flag == 0 ? "false" : "true"
        case (.integer, .integer(let integer)):
            return "\(sql.bind(integer))::\(column.declaredType)"
        case (.number, .integer(let integer)) where base != "numeric":
            return "\(sql.bind(integer))::\(column.declaredType)"
        case (.number, .real(let real)) where base != "numeric":
            return "\(sql.bind(real))::\(column.declaredType)"
        case (.number, .integer(let integer)):
            return "\(sql.bind(String(integer)))::\(column.declaredType)"
        case (.number, .real(let real)):
            return "\(sql.bind(String(real)))::\(column.declaredType)"
        case (.json, .integer(let integer)):
            return "\(sql.bind(String(integer)))::\(base)"
        case (.json, .real(let real)):
            return "\(sql.bind(String(real)))::\(base)"
        case (.dateTime, .text(let text)) where base == "timestamp without time zone":
            return "(\(sql.bind(text))::timestamptz AT TIME ZONE 'UTC')::\(column.declaredType)"
        case (.blob, .blob(let bytes)):
            return "decode(\(sql.bind(Base64.encode(bytes))), 'base64')"
        case (_, .text(let text)):
            return "\(sql.bind(text))::\(column.declaredType)"
        case (_, .integer(let integer)):
            return "\(sql.bind(String(integer)))::\(column.declaredType)"
        case (_, .real(let real)):
            return "\(sql.bind(String(real)))::\(column.declaredType)"
        case (_, .blob(let bytes)):
            return "decode(\(sql.bind(Base64.encode(bytes))), 'base64')"
        }
    }

    /// `key = $n` for the item with `key` (typed as the listing's), or nil when no row can have it.
    static func keyCondition(_ collection: CollectionSchema, key: SQLValue, row: String, into sql: inout PostgresBoundSQL) -> String? {
        guard let operand = PostgresConditions.operand(key, for: collection.primaryKey, into: &sql) else { return nil }
        return "\(PostgresConditions.comparable(collection.primaryKey, row: row)) = \(operand)"
    }

    /// Whether `row` is in `scope`, as a boolean SQL expression (a rule's conditions ANDed).
    static func admission(_ scope: RowScope, _ collection: CollectionSchema, row: String, into sql: inout PostgresBoundSQL) throws -> String {
        switch scope {
        case .none: return "false"
        case .all: return "true"
        case .rows(let filters):
            var query = ListQuery()
            query.rule = filters
            let plan = try FilterPlan(query, of: collection)
            let conditions = PostgresConditions(collection: collection, row: row).whereClause(plan, into: &sql)
            return conditions.isEmpty ? "true" : "coalesce(" + conditions.joined(separator: " AND ") + ", false)"
        }
    }

    /// The item's JSON, as a read builds it (the same bytes, so ETags agree).
    static func object(_ collection: CollectionSchema, row: String) throws -> String {
        var unused = PostgresBoundSQL()
        return try PostgresListing.object(collection.columns.map(PlanMember.column), row: row, into: &unused)
    }

    // MARK: Items

    /// The item `key` as it is now, locked until the transaction ends, and whether it is in each
    /// of `scopes`; nil when there is none.
    func current(_ collection: CollectionSchema, key: SQLValue, id: String, scopes: [RowScope]) async throws -> (item: Item, admitted: [Bool])? {
        var sql = PostgresBoundSQL()
        let table = PostgresSQL.identifier(collection.name)
        guard let condition = Self.keyCondition(collection, key: key, row: table, into: &sql) else { return nil }
        let admissions = try scopes.map { try Self.admission($0, collection, row: table, into: &sql) }
        sql.text = "SELECT \(try Self.object(collection, row: table))"
            + admissions.map { ", " + $0 }.joined() + " FROM \(table) WHERE \(condition) FOR UPDATE"
        guard let row = try await rows(sql).first else { return nil }
        let cells = row.makeRandomAccess()
        let json = try cells[0].decode(String.self)
        let admitted = try (0..<admissions.count).map { try cells[$0 + 1].decode(Bool.self) }
        return (Item(id: id, json: Array(json.utf8)), admitted)
    }

    /// The item as the identity sees it now (nil when absent or hidden, and `hidden` says which),
    /// locked, with whether it is in `scope`.
    func visible(_ collection: CollectionSchema, key: SQLValue, id: String, access: Access, scope: RowScope) async throws
        -> (item: Item?, hidden: Bool, admitted: Bool)
    {
        guard let (item, admitted) = try await current(collection, key: key, id: id, scopes: [access.read, scope]) else { return (nil, false, false) }
        return admitted[0] ? (item, false, admitted[1]) : (nil, true, admitted[1])
    }

    /// Inserts `row`; returns the item and whether it is in `scope` once written.
    func insert(_ row: RowValues, into collection: CollectionSchema, scope: RowScope) async throws -> (item: Item, admitted: Bool) {
        var sql = PostgresBoundSQL()
        let table = PostgresSQL.identifier(collection.name)
        let values = zip(row.columns, row.values).map { Self.value($1, for: $0, into: &sql) }
        let admission = try Self.admission(scope, collection, row: table, into: &sql)
        let returning = "RETURNING \(PostgresRowJSON.keyTextExpression(PostgresTable(collection), row: table)), "
            + "\(try Self.object(collection, row: table)), \(admission)"
        if row.columns.isEmpty {
            sql.text = "INSERT INTO \(table) DEFAULT VALUES \(returning)"
        } else {
            let names = row.columns.map { PostgresSQL.identifier($0.name) }.joined(separator: ", ")
            sql.text = "INSERT INTO \(table) (\(names)) VALUES (\(values.joined(separator: ", "))) \(returning)"
        }
        let statement = sql
        let result = try await reporting(row, in: collection) {
            try await attempt { try await rows(statement) }
        }
        guard let first = result.first else { throw StoreError(.internal, "INSERT returned no row") }
        let (id, json, admitted) = try first.decode((String, String, Bool).self)
        if collection.keyAssignment == .serverInteger, let index = row.columns.firstIndex(where: { $0.name == collection.primaryKey.name }),
            case .integer(let key) = row.values[index]
        {
            try await advanceSequence(of: collection, past: key)
        }
        return (Item(id: id, json: Array(json.utf8)), admitted)
    }

    /// Moves the key's sequence past a key the client gave, as SQLite's next key follows the
    /// largest: otherwise PostgreSQL would assign it again and a later create would collide.
    /// setval is not transactional, so the read and the move are made under a transaction-scoped
    /// advisory lock per sequence: two writers cannot move it back past each other.
    func advanceSequence(of collection: CollectionSchema, past key: Int64) async throws {
        var find = PostgresBoundSQL()
        find.text = "SELECT pg_get_serial_sequence(\(find.bind(PostgresSQL.identifier(namespace) + "." + PostgresSQL.identifier(collection.name))), "
            + "\(find.bind(collection.primaryKey.name)))"
        guard let sequence = try await rows(find).first.flatMap({ try $0.decode(String?.self) }) else { return }
        var lock = PostgresBoundSQL()
        lock.text = "SELECT pg_advisory_xact_lock(hashtext('feedbase.sequence ' || \(lock.bind(sequence))))"
        _ = try await rows(lock)
        var move = PostgresBoundSQL()
        move.text = "SELECT setval(\(move.bind(sequence))::regclass, \(move.bind(key))) "
            + "WHERE coalesce(pg_sequence_last_value(\(move.bind(sequence))::regclass), 0) < \(move.bind(key))"
        _ = try await rows(move)
    }

    /// A column's new value: bound, or its default.
    enum Assignment {
        case value(SQLValue)
        case merged(String)
        case byDefault
    }

    /// Updates the item `key`; returns it and whether it is in `scope` afterwards.
    func update(
        _ collection: CollectionSchema, assignments: [(column: Column, value: Assignment)], row: RowValues, key: SQLValue, id: String,
        scope: RowScope
    ) async throws -> (item: Item, admitted: Bool) {
        var sql = PostgresBoundSQL()
        let table = PostgresSQL.identifier(collection.name)
        let set = assignments.map { "\(PostgresSQL.identifier($0.column.name)) = \(Self.render($0.value, $0.column, into: &sql))" }
        guard let condition = Self.keyCondition(collection, key: key, row: table, into: &sql) else {
            throw StoreError.notFound("no item '\(id)' in \(collection.name)")
        }
        let admission = try Self.admission(scope, collection, row: table, into: &sql)
        sql.text = "UPDATE \(table) SET \(set.joined(separator: ", ")) WHERE \(condition) RETURNING \(try Self.object(collection, row: table)), \(admission)"
        let statement = sql
        let result = try await reporting(row, in: collection) {
            try await updating(collection, assignments: assignments, key: key) {
                try await attempt { try await rows(statement) }
            }
        }
        guard let first = result.first else { throw StoreError.notFound("no item '\(id)' in \(collection.name)") }
        let (json, admitted) = try first.decode((String, Bool).self)
        return (Item(id: id, json: Array(json.utf8)), admitted)
    }

    static func render(_ assignment: Assignment, _ column: Column, into sql: inout PostgresBoundSQL) -> String {
        switch assignment {
        case .value(let value): Self.value(value, for: column, into: &sql)
        case .merged(let json): "\(sql.bind(json))::\(PostgresRowJSON.baseType(column.declaredType))"
        case .byDefault: "DEFAULT"
        }
    }

    /// Deletes the item `key`.
    func delete(_ collection: CollectionSchema, key: SQLValue) async throws {
        var sql = PostgresBoundSQL()
        let table = PostgresSQL.identifier(collection.name)
        guard let condition = Self.keyCondition(collection, key: key, row: table, into: &sql) else { return }
        sql.text = "DELETE FROM \(table) WHERE \(condition)"
        let statement = sql
        try await deleting(collection, key: key) {
            try await attempt { _ = try await rows(statement) }
        }
    }
}
