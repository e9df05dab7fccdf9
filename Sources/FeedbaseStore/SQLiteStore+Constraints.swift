// Constraint failures in the API's own words: SQLite's messages name tables and quote CHECK
// expressions, so a failure is turned into pointers at the body's columns instead.

import FeedbaseModel

extension SQLiteStore {
    /// A constraint failure pointing at the columns it names under `prefix` (or at `prefix`
    /// itself): SQLite's message names the table and, for CHECK, quotes its SQL, so the API says
    /// what is wrong in its own words instead.
    static func locating(_ error: StoreError, in collection: CollectionSchema, at prefix: String) -> StoreError {
        var error = error
        var columns = error.columns
        if error.kind == .foreignKey, collection.foreignKeys.count == 1 { columns = [collection.foreignKeys[0].column] }
        let detail = error.constraintDetail
        error.violations = columns.map { Violation(pointer: RequestBody.pointer(prefix, $0), detail: detail) }
        if error.violations.isEmpty { error.violations = [Violation(pointer: prefix, detail: detail)] }
        return error
    }

    /// A CHECK failure names its expression, not a column: point at the columns it mentions.
    static func naming<T>(_ collection: CollectionSchema, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as StoreError where error.kind == .constraint && error.columns.isEmpty {
            if let range = error.message.range(of: "CHECK constraint failed: ") {
                let expression = error.message[range.upperBound...]
                let words = Set(expression.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init))
                error.columns = collection.columns.map(\.name).filter(words.contains)
            }
            throw error
        }
    }
}
