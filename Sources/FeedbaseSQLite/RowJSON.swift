// SQL that makes SQLite itself build each row's JSON (json_object with the column type mapping),
// so rows travel from the database to the socket as bytes, never through a JSON encoder.

import FeedbaseModel

enum RowJSON {
    /// Who evaluates the SQL: one of our connections, which have `feedbase_base64`, or any SQLite
    /// program (the change-log triggers fire in the sqlite3 shell too), where a BLOB value is left
    /// out of the JSON (null) and logged as hex beside it (`ChangeLog`).
    enum Dialect { case feedbase, plain }

    /// The JSON value of one column, as a SQL expression over `table.column`. Whatever another
    /// program stored, each column type reads by one rule (docs/SCHEMA.md, "Values other programs
    /// write"), and `comparableExpression` is the same value as SQL compares it.
    static func valueExpression(_ column: Column, table: String? = nil, dialect: Dialect = .feedbase) -> String {
        let reference = (table.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(column.name)
        switch column.type {
        case .boolean:
            return "CASE \(truth(reference)) WHEN 1 THEN json('true') WHEN 0 THEN json('false') END"
        case .json:
            return jsonValue(reference)
        case .blob where dialect == .plain:
            // The bytes are logged as hex beside the item (ChangeLog.blobs).
            return "NULL"
        case .blob:
            // Any value reads as the base64 of its bytes: text (another program's) as its UTF-8,
            // a number as the text SQLite writes for it.
            return "\(SQLFunctions.base64Name)(CAST(\(reference) AS BLOB))"
        case .number, .integer:
            return "CASE WHEN typeof(\(reference)) = 'real' THEN \(realValue(reference)) "
                + "WHEN typeof(\(reference)) = 'blob' THEN \(foreignBlob(reference, dialect)) ELSE \(reference) END"
        case .string, .dateTime, .date, .time:
            // json_object would write an infinity as the non-JSON `Inf`.
            let infinity = column.holdsReals ? "WHEN \(isInfinite(reference)) THEN NULL " : ""
            return "CASE WHEN typeof(\(reference)) = 'blob' THEN \(foreignBlob(reference, dialect)) \(infinity)ELSE \(reference) END"
        }
    }

    /// A BLOB (another program's) in an integer, number, string, date, time or date-time column:
    /// `{"base64": "…"}`, which no value of the column's own type looks like, so the band reads
    /// it back as those bytes (`RowImage`) and compares it as SQL compares the stored BLOB. In
    /// plain SQL it is null, and its hex is logged beside the item (`ChangeLog.blobs`).
    static func foreignBlob(_ reference: String, _ dialect: Dialect) -> String {
        dialect == .plain ? "NULL" : "json_object('base64', \(SQLFunctions.base64Name)(\(reference)))"
    }

    /// Whether a column of this type reads a BLOB (another program's) as `{"base64": "…"}`.
    static func wrapsBlobs(_ type: ColumnType) -> Bool {
        [.number, .integer, .string, .dateTime, .date, .time].contains(type)
    }

    /// Whether the value is an infinity (a REAL: `+` strips the column's affinity, which would
    /// turn the literal into the text `Inf` for a TEXT column). Plain SQL.
    static func isInfinite(_ reference: String) -> String {
        "+\(reference) IN (1e999, -1e999)"
    }

    /// The value of one column as filters and rules compare it: the value its JSON shows, as the
    /// band predicate reads it back (`RowImage`), so a listing, a rule and a band agree on every
    /// row. For a boolean 1, 0 or NULL; for JSON the normalised JSON text (NULL for JSON null);
    /// for a BLOB its bytes; for every other type the stored value itself (index-friendly),
    /// without affinity for a string column of NUMERIC affinity.
    static func comparableExpression(_ column: Column, table: String? = nil) -> String {
        let reference = (table.map { quoteIdentifier($0) + "." } ?? "") + quoteIdentifier(column.name)
        switch column.type {
        case .boolean: return truth(reference)
        case .json: return "NULLIF(\(jsonValue(reference)), 'null')"
        case .blob: return "CAST(\(reference) AS BLOB)"
        case .string where column.hasNumericAffinity:
            // SQLite would turn an operand such as `007` into the number 7 before comparing it
            // with this column; `+` compares the value as read with the text as written.
            return "+" + reference
        case .number, .integer, .string, .dateTime, .date, .time: return reference
        }
    }

    /// Words that read as true in a BOOLEAN column holding text (lowercase).
    static let trueWords = ["true", "t", "yes", "y", "on", "1"]

    /// A BOOLEAN column's value as 1, 0 or NULL: a number is true when not zero; text (or a
    /// BLOB) is true when it is one of `trueWords` ignoring ASCII case, else false (`'false'`,
    /// `'no'`, `''`). Plain SQL: the change-log triggers use it.
    static func truth(_ reference: String) -> String {
        "(CASE WHEN \(reference) IS NULL THEN NULL WHEN typeof(\(reference)) IN ('integer', 'real') THEN \(reference) != 0 "
            + "ELSE lower(\(reference)) IN (\(trueWords.map(quoteLiteral).joined(separator: ", "))) END)"
    }

    /// A JSON column's value: text (or a BLOB) holding JSON is that JSON, minified; other text
    /// (another program's) is a JSON string of it; a number is a number (a declared type JSON
    /// has NUMERIC affinity, so SQLite stores one as INTEGER or REAL). Plain SQL.
    static func jsonValue(_ reference: String) -> String {
        "CASE WHEN \(reference) IS NULL THEN NULL WHEN typeof(\(reference)) = 'real' THEN \(realValue(reference)) "
            + "WHEN json_valid(\(reference)) THEN json(\(reference)) ELSE json_quote(CAST(\(reference) AS TEXT)) END"
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

    /// A sort value as a cursor holds it, exactly as stored (the next page starts after it, by
    /// the stored value): json_array would write a REAL with 15 digits (the next page would start
    /// at a rounded value) and an infinity as the non-JSON `Inf`, which is written `1e999`; it
    /// cannot hold a BLOB (another program's, in a boolean column), which is `{"base64": "..."}`.
    static func cursorValue(_ reference: String) -> String {
        "CASE WHEN typeof(\(reference)) NOT IN ('real', 'blob') THEN \(reference) "
            + "WHEN typeof(\(reference)) = 'blob' THEN json_object('base64', \(SQLFunctions.base64Name)(\(reference))) "
            + "WHEN +\(reference) = 1e999 THEN json('1e999') "
            + "WHEN +\(reference) = -1e999 THEN json('-1e999') ELSE json(\(realText(reference))) END"
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

extension Column {
    /// Whether the declared type gives the column NUMERIC affinity while it reads as a string
    /// (`STRING`, say: not `CHAR`, `CLOB`, `TEXT`, and not empty), so that SQLite stores text
    /// such as `007` as the number 7 and converts a text operand alike.
    var hasNumericAffinity: Bool {
        type == .string && !declaredType.isEmpty && !["CHAR", "CLOB", "TEXT", "BLOB"].contains(where: declaredType.uppercased().contains)
    }

    /// Whether SQLite may store a REAL here as it is: any affinity but TEXT (a declared type
    /// holding `CHAR`, `CLOB` or `TEXT`, which turns a number into text). Only such a column can
    /// hold an infinity, which reads as null.
    var holdsReals: Bool {
        let declared = declaredType.uppercased()
        return declared.contains("INT") || !["CHAR", "CLOB", "TEXT"].contains(where: declared.contains)
    }
}
