// The store's one error type: a SQLite failure (with its extended result code and message)
// classified into the kinds the HTTP layer maps to statuses, plus the store's own failures.

/// What went wrong, in the terms a caller acts on.
public enum StoreErrorKind: String, Sendable, Equatable {
    /// The collection or item does not exist.
    case notFound
    /// A PRIMARY KEY or UNIQUE constraint was violated.
    case conflict
    /// A FOREIGN KEY constraint was violated.
    case foreignKey
    /// A delete of an item that other items still refer to (a foreign key without ON DELETE
    /// CASCADE); the message names the collection that refers to it.
    case referenced
    /// A NOT NULL, CHECK or datatype (STRICT) constraint was violated.
    case constraint
    /// The request body is not JSON, or not the expected shape, or names an unknown field.
    case malformed
    /// The request body is JSON but does not match the schema; see `StoreError.violations`.
    case invalid
    /// A listing's query parameter is not valid; see `StoreError.parameter`.
    case badQuery
    /// The access rules do not let this identity do this to this item (HTTP 403).
    case forbidden
    /// An If-Match / If-None-Match precondition failed; see `StoreError.currentETag`.
    case preconditionFailed
    /// The database stayed locked by another connection past the busy timeout.
    case busy
    /// The disk (or the database's size limit) is full: nothing of the write was kept.
    case full
    /// The file cannot be read or written just now: an I/O error, a read-only or vanished file.
    case unavailable
    /// The file is corrupt or not a database.
    case storage
    /// A migration could not be applied or the migration history is inconsistent.
    case migration
    /// Anything else: a fault of the server, not of the request.
    case `internal`
}

/// One bad field of a request body, located by its JSON pointer (RFC 6901).
public struct Violation: Sendable, Equatable, CustomStringConvertible {
    public var pointer: String
    public var detail: String

    public init(pointer: String, detail: String) {
        self.pointer = pointer
        self.detail = detail
    }

    public var description: String { "\(pointer.isEmpty ? "(root)" : pointer): \(detail)" }
}

public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var kind: StoreErrorKind
    /// A sentence for a person; never contains SQL built from input.
    public var message: String
    /// SQLite's extended result code, when SQLite raised the error.
    public var sqliteCode: Int32?
    /// The columns named by a constraint failure (`UNIQUE constraint failed: tasks.title` → ["title"]).
    public var columns: [String]
    /// Field-level problems of a request body (kind `.invalid`).
    public var violations: [Violation]
    /// The query parameter at fault (kind `.badQuery`).
    public var parameter: String?
    /// The current entity tag of the item, if it exists (kind `.preconditionFailed`).
    public var currentETag: String?

    public init(
        _ kind: StoreErrorKind, _ message: String, sqliteCode: Int32? = nil,
        columns: [String] = [], violations: [Violation] = []
    ) {
        self.kind = kind
        self.message = message
        self.sqliteCode = sqliteCode
        self.columns = columns
        self.violations = violations
    }

    public var description: String {
        var text = message
        if let sqliteCode { text += " (SQLite \(sqliteCode))" }
        for violation in violations { text += "\n  \(violation)" }
        return text
    }

    /// What a constraint failure means for the field, without SQLite's wording (which names
    /// tables and quotes CHECK expressions).
    var constraintDetail: String {
        switch kind {
        case .conflict: "must be unique"
        case .foreignKey: "a referenced item does not exist"
        case .constraint where message.hasPrefix("NOT NULL"): "must not be null"
        default: "violates a constraint of the table"
        }
    }

    static func invalid(_ violations: [Violation]) -> StoreError {
        StoreError(.invalid, "the request body does not match the schema", violations: violations)
    }

    static func malformed(_ message: String, _ violations: [Violation] = []) -> StoreError {
        StoreError(.malformed, message, violations: violations)
    }

    static func notFound(_ message: String) -> StoreError { StoreError(.notFound, message) }

    static func badQuery(_ parameter: String, _ message: String) -> StoreError {
        var error = StoreError(.badQuery, message)
        error.parameter = parameter
        return error
    }
}

/// SQLite's result codes that the classification needs; the C macros built with `|` and `<<`
/// are not all importable, so they are spelled out here.
enum SQLiteCode {
    static let perm: Int32 = 3
    static let busy: Int32 = 5
    static let locked: Int32 = 6
    static let readonly: Int32 = 8
    static let ioerr: Int32 = 10
    static let corrupt: Int32 = 11
    static let full: Int32 = 13
    static let cantopen: Int32 = 14
    static let constraint: Int32 = 19
    static let mismatch: Int32 = 20
    static let notadb: Int32 = 26

    static let constraintCheck: Int32 = constraint | (1 << 8)
    static let constraintForeignKey: Int32 = constraint | (3 << 8)
    static let constraintNotNull: Int32 = constraint | (5 << 8)
    static let constraintPrimaryKey: Int32 = constraint | (6 << 8)
    static let constraintTrigger: Int32 = constraint | (7 << 8)
    static let constraintUnique: Int32 = constraint | (8 << 8)
    static let constraintRowID: Int32 = constraint | (10 << 8)
    static let constraintDatatype: Int32 = constraint | (12 << 8)
}

extension StoreError {
    /// Classifies a SQLite failure by its extended result code.
    static func sqlite(code: Int32, message: String) -> StoreError {
        let primary = code & 0xff
        let kind: StoreErrorKind
        switch code {
        case SQLiteCode.constraintPrimaryKey, SQLiteCode.constraintUnique, SQLiteCode.constraintRowID:
            kind = .conflict
        case SQLiteCode.constraintForeignKey:
            kind = .foreignKey
        case SQLiteCode.constraintNotNull, SQLiteCode.constraintCheck, SQLiteCode.constraintDatatype,
            SQLiteCode.constraintTrigger:
            kind = .constraint
        default:
            switch primary {
            case SQLiteCode.constraint, SQLiteCode.mismatch: kind = .constraint
            case SQLiteCode.busy, SQLiteCode.locked: kind = .busy
            case SQLiteCode.full: kind = .full
            case SQLiteCode.ioerr, SQLiteCode.cantopen, SQLiteCode.readonly, SQLiteCode.perm: kind = .unavailable
            case SQLiteCode.corrupt, SQLiteCode.notadb: kind = .storage
            default: kind = .internal
            }
        }
        return StoreError(kind, message, sqliteCode: code, columns: constraintColumns(message))
    }

    /// `NOT NULL constraint failed: tasks.title` and `UNIQUE constraint failed: t.a, t.b` name
    /// their columns after the colon as `table.column`; CHECK failures name a constraint instead.
    private static func constraintColumns(_ message: String) -> [String] {
        guard message.contains("constraint failed: "),
            !message.hasPrefix("CHECK"),
            let colon = message.range(of: "constraint failed: ")
        else { return [] }
        return message[colon.upperBound...].split(separator: ",").compactMap { part in
            let trimmed = part.trimmingCharacters(in: " ")
            guard let dot = trimmed.lastIndex(of: ".") else { return nil }
            return String(trimmed[trimmed.index(after: dot)...])
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var slice = self
        while slice.first == character { slice = slice.dropFirst() }
        while slice.last == character { slice = slice.dropLast() }
        return slice
    }
}
