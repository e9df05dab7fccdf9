// PostgreSQL's failures in the store's terms (StoreErrorKind), read from the error's fields
// (SQLSTATE, column, constraint, detail), never from its wording alone: the kinds and columns are
// SQLite's for the same mistake, so the API answers alike on both engines.

import FeedbaseModel
import PostgresNIO

enum PostgresErrors {
    /// `error` as a StoreError. A CHECK failure names no column: the caller reads the
    /// constraint's columns from the catalog (`checkConstraint`).
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let transaction = error as? PostgresTransactionError {
            return storeError(transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? error)
        }
        if error is PostgresConnectionLost { return StoreError(.unavailable, "PostgreSQL: \(error)") }
        guard let psql = error as? PSQLError else { return StoreError(.internal, "PostgreSQL: \(error)") }
        guard let fields = psql.serverInfo, let state = fields[.sqlState] else {
            // No answer from the server: the connection is gone or could not be had.
            return StoreError(.unavailable, "PostgreSQL: \(PostgresMigrator.describe(psql))")
        }
        let message = fields[.message] ?? "an error"
        let detail = fields[.detail] ?? ""
        let table = fields[.tableName] ?? ""
        switch state {
        case "23505":
            return StoreError(.conflict, "UNIQUE constraint failed: \(table)", columns: keyColumns(detail))
        case "23503":
            // Both sides: a reference to no row, or a row others still refer to (the write's
            // caller tells them apart, as SQLite's does).
            return StoreError(.foreignKey, "FOREIGN KEY constraint failed: \(message)", columns: keyColumns(detail))
        case "23502":
            let column = fields[.columnName]
            return StoreError(.constraint, "NOT NULL constraint failed: \(table).\(column ?? "")", columns: column.map { [$0] } ?? [])
        case "23514":
            return StoreError(.constraint, "CHECK constraint failed: \(fields[.constraintName] ?? "")")
        case let state where state.hasPrefix("22") || state.hasPrefix("23"):
            // A value the column's type refuses (a date-time out of range, an integer too wide
            // for an `integer` column): a constraint of the table, with no column to name.
            return StoreError(.constraint, "the value does not fit the column: \(message)")
        case "40001", "40P01":
            var error = StoreError(.busy, "PostgreSQL: \(message); try again")
            error.retryable = true
            return error
        case "55P03":
            // lock_timeout (the store's busy timeout): another session holds what this needs.
            return StoreError(.busy, "the database is busy: another session holds a lock past the busy timeout; try again")
        case "53100":
            return StoreError(.full, "PostgreSQL: \(message)")
        case let state where state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53"):
            return StoreError(.unavailable, "PostgreSQL: \(message)")
        default:
            return StoreError(.internal, "PostgreSQL: \(PostgresMigrator.describe(psql))")
        }
    }

    /// The (table, constraint) of a CHECK failure.
    static func checkConstraint(_ error: any Error) -> (table: String, name: String)? {
        guard let fields = (error as? PSQLError)?.serverInfo, fields[.sqlState] == "23514",
            let table = fields[.tableName], let name = fields[.constraintName]
        else { return nil }
        return (table, name)
    }

    /// The columns of `Key (a, b)=(...)` in a constraint failure's detail.
    static func keyColumns(_ detail: String) -> [String] {
        guard let start = detail.range(of: "Key ("), let end = detail.range(of: ")=(", range: start.upperBound..<detail.endIndex) else { return [] }
        return detail[start.upperBound..<end.lowerBound].split(separator: ",").map {
            var name = $0.trimmingPrefix(" ")
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
                name = name.dropFirst().dropLast()
            }
            return String(name).replacing("\"\"", with: "\"")
        }
    }
}
