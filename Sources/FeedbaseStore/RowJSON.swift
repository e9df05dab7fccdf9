// SQL that makes SQLite itself build each row's JSON (json_object with the column type mapping),
// so rows travel from the database to the socket as bytes, never through a JSON encoder.

enum RowJSON {
    /// The JSON value of one column, as a SQL expression over `table.column`.
    static func valueExpression(_ column: Column, table: String? = nil) -> String {
        let reference = (table.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(column.name)
        switch column.type {
        case .boolean:
            // Stored 0/1; anything SQLite calls true (non-zero) reads as true.
            return "CASE WHEN \(reference) IS NULL THEN NULL WHEN \(reference) THEN json('true') ELSE json('false') END"
        case .json:
            // Text that is not JSON (written by another program) comes back as a string, never an error.
            return "CASE WHEN json_valid(\(reference)) THEN json(\(reference)) ELSE \(reference) END"
        case .blob:
            return "\(SQLFunctions.base64Name)(\(reference))"
        case .integer, .number, .string, .dateTime, .date, .time:
            return reference
        }
    }

    /// SQLite caps a function at 127 arguments, so one json_object call takes at most 63 pairs.
    static let pairsPerCall = 60

    /// The whole row as one JSON object, keys in table order. Rows wider than one call are built
    /// from several objects spliced as text (`{a…}` + `{b…}` → `{a…,b…}`): JSON paths cannot name
    /// every key (SQLite's path syntax has no escape for `"`), so json_insert is not an option.
    static func objectExpression(_ collection: Collection, table: String? = nil) -> String {
        let pairs = collection.columns.map { quoteLiteral($0.name) + ", " + valueExpression($0, table: table) }
        let chunks = stride(from: 0, to: pairs.count, by: pairsPerCall).map {
            "json_object(" + pairs[$0..<min($0 + pairsPerCall, pairs.count)].joined(separator: ", ") + ")"
        }
        guard chunks.count > 1 else { return chunks.first ?? "json_object()" }
        let parts = chunks.enumerated().map { index, chunk in
            switch index {
            case 0: "substr(\(chunk), 1, length(\(chunk)) - 1)"
            case chunks.count - 1: "substr(\(chunk), 2)"
            default: "substr(\(chunk), 2, length(\(chunk)) - 2)"
            }
        }
        return "json(" + parts.joined(separator: " || ',' || ") + ")"
    }

    /// The primary key as text: every item id is a string in URLs and events.
    static func keyTextExpression(_ collection: Collection, table: String? = nil) -> String {
        let reference = (table.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(collection.primaryKey.name)
        return collection.primaryKey.type == .blob
            ? "\(SQLFunctions.base64Name)(\(reference))" : "CAST(\(reference) AS TEXT)"
    }
}
