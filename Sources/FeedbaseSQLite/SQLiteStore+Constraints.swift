// Constraint failures in the API's own words: SQLite's messages name tables and quote CHECK
// expressions, so a failure is turned into pointers at the body's columns instead.

import FeedbaseModel

extension SQLiteStore {
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
