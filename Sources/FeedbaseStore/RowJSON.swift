// SQL that makes SQLite itself build each row's JSON (json_object with the column type mapping),
// so rows travel from the database to the socket as bytes, never through a JSON encoder.

enum RowJSON {
    /// Who evaluates the SQL: one of our connections, which have `feedbase_base64`, or any SQLite
    /// program (the change-log triggers fire in the sqlite3 shell too), where a BLOB value is left
    /// out of the JSON (null) and logged as hex beside it (`ChangeLog`).
    enum Dialect { case feedbase, plain }

    /// The JSON value of one column, as a SQL expression over `table.column`.
    static func valueExpression(_ column: Column, table: String? = nil, dialect: Dialect = .feedbase) -> String {
        let reference = (table.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(column.name)
        switch column.type {
        case .boolean:
            // Stored 0/1; anything SQLite calls true (non-zero) reads as true.
            return "CASE WHEN \(reference) IS NULL THEN NULL WHEN \(reference) THEN json('true') ELSE json('false') END"
        case .json:
            // Text that is not JSON (written by another program) comes back as a string, never an
            // error. A declared type JSON has NUMERIC affinity: SQLite stores a number as INTEGER
            // or REAL, and a REAL is rendered as in a number column.
            return "CASE WHEN typeof(\(reference)) = 'real' THEN \(realValue(reference)) "
                + "WHEN json_valid(\(reference)) THEN json(\(reference)) ELSE \(reference) END"
        case .blob where dialect == .plain:
            return "CASE WHEN typeof(\(reference)) = 'blob' THEN NULL ELSE \(reference) END"
        case .blob:
            return "\(SQLFunctions.base64Name)(\(reference))"
        case .number:
            return "CASE WHEN typeof(\(reference)) = 'real' THEN \(realValue(reference)) ELSE \(reference) END"
        case .integer, .string, .dateTime, .date, .time:
            return reference
        }
    }

    /// A REAL as a JSON number. json_object alone writes 15 significant digits, which is lossy
    /// (and turns 1.7976931348623157e308 into a number that overflows when read back), and an
    /// infinity as `Inf`, which is not JSON: an infinity (only another program can store one)
    /// reads as null.
    static func realValue(_ reference: String) -> String {
        "CASE WHEN \(reference) IN (1e999, -1e999) THEN NULL ELSE json(\(realText(reference))) END"
    }

    /// A finite REAL as the text of a JSON number that reads back as the same double: 15
    /// significant digits when SQLite reads those back to the same value, else 17. Plain SQL
    /// (no function of ours), because the change-log triggers use it and fire in any program
    /// that writes to the database.
    static func realText(_ reference: String) -> String {
        "CASE WHEN CAST(printf('%!.15g', \(reference)) AS REAL) = \(reference) THEN printf('%!.15g', \(reference)) "
            + "ELSE printf('%!.17g', \(reference)) END"
    }

    /// SQLite caps a function at 127 arguments, so one json_object call takes at most 63 pairs.
    static let pairsPerCall = 60

    /// The whole row as one JSON object, keys in table order. Rows wider than one call are built
    /// from several objects spliced as text (`{a…}` + `{b…}` → `{a…,b…}`): JSON paths cannot name
    /// every key (SQLite's path syntax has no escape for `"`), so json_insert is not an option.
    static func objectExpression(_ collection: CollectionSchema, table: String? = nil, dialect: Dialect = .feedbase) -> String {
        object(collection.columns.map { ($0.name, valueExpression($0, table: table, dialect: dialect)) })
    }

    /// A JSON object of (key, SQL expression) pairs, in order, whatever their number.
    static func object(_ members: [(key: String, value: String)]) -> String {
        let pairs = members.map { quoteLiteral($0.key) + ", " + $0.value }
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
    static func keyTextExpression(_ collection: CollectionSchema, table: String? = nil, dialect: Dialect = .feedbase) -> String {
        let reference = (table.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(collection.primaryKey.name)
        switch collection.primaryKey.type {
        case .blob where dialect == .plain:
            return "CASE WHEN typeof(\(reference)) = 'blob' THEN hex(\(reference)) ELSE CAST(\(reference) AS TEXT) END"
        case .blob:
            return "\(SQLFunctions.base64Name)(\(reference))"
        case .number:
            return "CASE WHEN typeof(\(reference)) = 'real' AND \(reference) NOT IN (1e999, -1e999) THEN \(realText(reference)) "
                + "ELSE CAST(\(reference) AS TEXT) END"
        default:
            return "CAST(\(reference) AS TEXT)"
        }
    }
}
