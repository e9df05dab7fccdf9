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

