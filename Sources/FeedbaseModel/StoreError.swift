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
    /// The database rolled the whole transaction back to settle a conflict with another one (a
    /// deadlock, a serialization failure): the engine may run it again as it was.
    public var retryable = false

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
    package var constraintDetail: String {
        switch kind {
        case .conflict: "must be unique"
        case .foreignKey: "a referenced item does not exist"
        case .constraint where message.hasPrefix("NOT NULL"): "must not be null"
        default: "violates a constraint of the table"
        }
    }

    package static func invalid(_ violations: [Violation]) -> StoreError {
        StoreError(.invalid, "the request body does not match the schema", violations: violations)
    }

    package static func malformed(_ message: String, _ violations: [Violation] = []) -> StoreError {
        StoreError(.malformed, message, violations: violations)
    }

    package static func notFound(_ message: String) -> StoreError { StoreError(.notFound, message) }

    package static func badQuery(_ parameter: String, _ message: String) -> StoreError {
        var error = StoreError(.badQuery, message)
        error.parameter = parameter
        return error
    }
}

extension StoreError {
    /// A constraint failure pointing at the columns it names under `prefix` (or at `prefix`
    /// itself): the engine's message names the table and, for CHECK, quotes its SQL, so the API
    /// says what is wrong in its own words instead.
    package func located(in collection: CollectionSchema, at prefix: String) -> StoreError {
        var error = self
        var columns = error.columns
        if error.kind == .foreignKey, collection.foreignKeys.count == 1 { columns = [collection.foreignKeys[0].column] }
        let detail = error.constraintDetail
        error.violations = columns.map { Violation(pointer: RequestBody.pointer(prefix, $0), detail: detail) }
        if error.violations.isEmpty { error.violations = [Violation(pointer: prefix, detail: detail)] }
        return error
    }
}
