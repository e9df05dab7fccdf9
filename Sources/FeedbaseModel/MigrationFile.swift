// A migration file and its state, as every engine's migrator reads and reports them.

public struct MigrationFile: Sendable, Equatable {
    public var number: Int
    public var name: String
    public var sql: String
    public var checksum: String

    package init(number: Int, name: String, sql: String, checksum: String) {
        self.number = number
        self.name = name
        self.sql = sql
        self.checksum = checksum
    }
}

public struct MigrationStatus: Sendable, Equatable {
    public enum State: String, Sendable { case applied, pending }
    public var name: String
    public var state: State
    /// RFC 3339 UTC, for applied migrations.
    public var appliedAt: String?

    package init(name: String, state: State, appliedAt: String?) {
        self.name = name
        self.state = state
        self.appliedAt = appliedAt
    }
}
