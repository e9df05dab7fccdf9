// What one identity may do to the rows of one collection, in the store's terms: per action, no
// row, every row, or the rows meeting some conditions. The HTTP layer derives it from the access
// rules (claims substituted); the store enforces it inside the read's snapshot or the write's
// own savepoint, so the check and the change are one atomic step and a failing check leaves
// nothing behind, events included.

public enum RowScope: Sendable, Equatable {
    /// The action is not allowed on this collection.
    case none
    case all
    /// The rows meeting every condition; operands typed leniently, as `ListQuery.rule`.
    case rows([Filter])

    public var isAllowed: Bool { self != .none }
}

public struct Access: Sendable, Equatable {
    /// Rows that can be seen at all: any other row is absent (404), on reads and writes alike.
    public var read: RowScope
    /// Rows that can be created: each created row must be in it afterwards.
    public var create: RowScope
    /// Rows that can be changed: the row must be in it before the change (PUT of an existing
    /// item, PATCH).
    public var update: RowScope
    /// Where a change may take a row: it must be in it afterwards.
    public var updateCheck: RowScope
    /// Rows that can be deleted.
    public var delete: RowScope
    /// The read scope of each served collection this one references by a foreign key: a
    /// written reference must name a row the identity may read, as a hidden row is an absent
    /// one (a collection missing here is read in full).
    public var referenced: [String: RowScope] = [:]

    public init(read: RowScope, create: RowScope, update: RowScope, updateCheck: RowScope, delete: RowScope) {
        self.read = read
        self.create = create
        self.update = update
        self.updateCheck = updateCheck
        self.delete = delete
    }

    public static let unrestricted = Access(read: .all, create: .all, update: .all, updateCheck: .all, delete: .all)
}

extension SQLiteStore {
    /// Whether the existing row with `key` is in `scope`, judged by SQLite on the row as it is
    /// in this transaction (the same SQL as a listing's, so REST and rules never disagree).
    static func admits(_ scope: RowScope, _ collection: CollectionSchema, key: SQLValue, on connection: Connection) throws -> Bool {
        switch scope {
        case .none: return false
        case .all: return true
        case .rows(let filters):
            var query = ListQuery()
            query.rule = filters
            let listing = Listing(collection: collection, query: query)
            var sql = BoundSQL()
            let keyPlaceholder = sql.bind(key)
            let conditions = try listing.whereClause(into: &sql, on: connection)
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
