// Access scopes (FeedbaseModel/Access.swift) enforced by SQLite, inside the statement's own
// transaction.

import FeedbaseModel

extension SQLiteStore {
    /// Whether the existing row with `key` is in `scope`, judged by SQLite on the row as it is
    /// in this transaction (the same SQL as a listing's, so REST and rules never disagree).
    static func admits(_ scope: RowScope, _ collection: CollectionSchema, key: SQLValue, on connection: Connection) throws -> Bool {
        switch scope {
        case .none: return false
        case .all: return true
        case .rows(let filters):
            var sql = BoundSQL()
            let keyPlaceholder = sql.bind(key)
            let conditions = try SQLConditions.rule(filters, of: collection, into: &sql, on: connection)
            let text = "SELECT 1 FROM \(quoteIdentifier(collection.name)) WHERE \(quoteIdentifier(collection.primaryKey.name)) = \(keyPlaceholder)"
                + conditions.map { " AND " + $0 }.joined()
            return try connection.scalarInt(text, sql.values) != nil
        }
    }

    static func forbidden(_ action: String, _ collection: CollectionSchema, pointer: String? = nil) -> StoreError {
        var error = StoreError(.forbidden, "the access rules do not let you \(action) in \(collection.name)")
        if let pointer { error.violations = [Violation(pointer: pointer, detail: "not allowed by the \(collection.name) rules")] }
        return error
    }
}
