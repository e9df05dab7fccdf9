// The immutable schema model: which tables are collections, and each column's JSON type,
// nullability, default, key and references. Built once by introspection (Introspector.swift).

/// The JSON type of a column, from its declared SQL type (see `ColumnType.init(declaredType:)`).
public enum ColumnType: String, Sendable, Equatable, CaseIterable {
    /// JSON true/false, stored as 0/1.
    case boolean
    /// A 64-bit signed integer.
    case integer
    /// Any JSON value, stored as JSON text.
    case json
    /// An RFC 3339 date-time, stored normalised to UTC as `YYYY-MM-DDTHH:MM:SS.sssZ`.
    case dateTime = "date-time"
    /// An RFC 3339 full-date `YYYY-MM-DD`.
    case date
    /// `HH:MM:SS[.fraction]`.
    case time
    /// A JSON number (64-bit float or integer).
    case number
    /// A BLOB, as standard base64 text in JSON.
    case blob
    /// Text.
    case string

    /// The mapping from a declared SQL type, checked in this order (the first match wins).
    public init(declaredType: String) {
        let type = declaredType.uppercased()
        if type.contains("BOOL") {
            self = .boolean
        } else if type.contains("INT") {
            self = .integer
        } else if type.contains("JSON") {
            self = .json
        } else if type.contains("DATETIME") || type.contains("TIMESTAMP") {
            self = .dateTime
        } else if type.contains("DATE") {
            self = .date
        } else if type.contains("TIME") {
            self = .time
        } else if ["REAL", "FLOA", "DOUB", "NUMERIC", "DEC"].contains(where: type.contains) {
            self = .number
        } else if type.contains("BLOB") {
            self = .blob
        } else {
            self = .string
        }
    }
}

/// Who provides a new item's primary key.
public enum KeyAssignment: String, Sendable, Equatable {
    /// `INTEGER PRIMARY KEY` (a rowid alias): SQLite assigns the next integer when omitted.
    case serverInteger = "server-integer"
    /// A text key: the server generates a time-ordered unique id (UUIDv7) when omitted.
    case serverText = "server-text"
    /// Any other key type: the client must send it.
    case client
}

public struct ForeignKey: Sendable, Equatable {
    public var column: String
    public var table: String
    /// nil when the reference names the parent's primary key implicitly.
    public var parentColumn: String?
    public var onDelete: String
    public var onUpdate: String

    package init(column: String, table: String, parentColumn: String?, onDelete: String, onUpdate: String) {
        self.column = column
        self.table = table
        self.parentColumn = parentColumn
        self.onDelete = onDelete
        self.onUpdate = onUpdate
    }
}

public struct Column: Sendable, Equatable {
    public var name: String
    /// The type as declared in SQL (may be empty).
    public var declaredType: String
    public var type: ColumnType
    public var nullable: Bool
    /// The DEFAULT clause as SQL text, if any (from `PRAGMA table_xinfo`).
    public var defaultSQL: String?
    public var isPrimaryKey: Bool
    /// Alone in a UNIQUE constraint or unique index (the primary key counts).
    public var isUnique: Bool
    /// A generated column: read-only, computed by SQLite.
    public var isGenerated: Bool
    public var references: ForeignKey?

    /// Required in a create or replace body: NOT NULL, no default, not generated, not a server-assigned key.
    public var isRequiredOnCreate: Bool {
        !nullable && defaultSQL == nil && !isGenerated && !isPrimaryKey
    }

    package init(name: String, declaredType: String, type: ColumnType, nullable: Bool, defaultSQL: String?, isPrimaryKey: Bool, isUnique: Bool, isGenerated: Bool, references: ForeignKey?) {
        self.name = name
        self.declaredType = declaredType
        self.type = type
        self.nullable = nullable
        self.defaultSQL = defaultSQL
        self.isPrimaryKey = isPrimaryKey
        self.isUnique = isUnique
        self.isGenerated = isGenerated
        self.references = references
    }
}

public struct CollectionSchema: Sendable, Equatable {
    public var name: String
    /// In table order.
    public var columns: [Column]
    public var primaryKey: Column
    public var keyAssignment: KeyAssignment
    /// Every UNIQUE constraint or unique index, as its column names (the primary key's included).
    public var uniqueConstraints: [[String]]
    public var foreignKeys: [ForeignKey]
    public var hasRowID: Bool
    /// Columns that lead a full (not partial) index: a boolean filter on one is compared as
    /// stored when the column holds only 0, 1 and NULL, so that the index serves it.
    public var indexLeaders: Set<String> = []

    public func column(_ name: String) -> Column? { columns.first { $0.name == name } }

    /// Columns a client may write (not generated).
    public var writableColumns: [Column] { columns.filter { !$0.isGenerated } }

    package init(name: String, columns: [Column], primaryKey: Column, keyAssignment: KeyAssignment, uniqueConstraints: [[String]], foreignKeys: [ForeignKey], hasRowID: Bool, indexLeaders: Set<String> = []) {
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.keyAssignment = keyAssignment
        self.uniqueConstraints = uniqueConstraints
        self.foreignKeys = foreignKeys
        self.hasRowID = hasRowID
        self.indexLeaders = indexLeaders
    }
}

/// A table that is not served, and why (logged at startup).
public struct SkippedTable: Sendable, Equatable {
    public var name: String
    public var reason: String

    package init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }
}

public struct Schema: Sendable, Equatable {
    /// Sorted by name.
    public var collections: [CollectionSchema]
    public var skipped: [SkippedTable]

    public init(collections: [CollectionSchema], skipped: [SkippedTable]) {
        self.collections = collections.sorted { $0.name < $1.name }
        self.skipped = skipped
    }

    public subscript(name: String) -> CollectionSchema? { collections.first { $0.name == name } }
}
