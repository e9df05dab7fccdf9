// The one place that says how a PostgreSQL value reads as JSON (docs/SCHEMA.md, beside SQLite's):
// SQL that makes PostgreSQL itself build each row's JSON, for the change log's triggers and, with
// the same expressions, for REST reads. Rows travel as the bytes PostgreSQL writes.
//
// row_to_json over the row (or over a subselect of mapped columns) rather than
// json_build_object: it takes any number of columns (json_build_object stops at 50 pairs), keeps
// the table's order and writes compact JSON (`{"a":1}`, where json_build_object writes
// `{"a" : 1}`). Types whose to_json already is the mapping pass through untouched, and a row of
// only such columns is `row_to_json(row)` itself: the cheapest form, and the common one.

import FeedbaseModel

public enum PostgresRowJSON {
    /// The JSON type of a PostgreSQL type as `format_type` writes it.
    public static func columnType(_ type: String) -> ColumnType {
        switch baseType(type) {
        case "smallint", "integer", "bigint": .integer
        case "numeric", "real", "double precision": .number
        case "boolean": .boolean
        case "json", "jsonb": .json
        case "bytea": .blob
        case "timestamp with time zone", "timestamp without time zone": .dateTime
        case "date": .date
        case "time without time zone", "time with time zone": .time
        default: .string
        }
    }

    /// The type without its modifiers: `numeric(10,2)` → `numeric`, `timestamp(3) with time zone`
    /// → `timestamp with time zone`; an array (`integer[]`) stays as it is and reads as to_json
    /// writes it.
    static func baseType(_ type: String) -> String {
        guard !type.hasSuffix("]") else { return type }
        var result = ""
        var depth = 0
        for character in type {
            if character == "(" { depth += 1 } else if character == ")" { depth -= 1 } else if depth == 0 { result.append(character) }
        }
        return result
    }

    /// The RFC 3339 form every date-time takes, as SQLite's (`YYYY-MM-DDTHH:MM:SS.sssZ`, UTC,
    /// milliseconds truncated); an infinite timestamp is null.
    static let dateTimeFormat = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'"

    /// The column's JSON value as a SQL expression over `reference` (e.g. `NEW."title"`), or nil
    /// when to_json of the value already is its JSON (it then passes through as it is).
    public static func mappedExpression(_ column: PostgresColumn, reference: String) -> String? {
        switch baseType(column.type) {
        case "timestamp with time zone":
            return "to_char(\(reference) AT TIME ZONE 'UTC', \(dateTimeFormat))"
        case "timestamp without time zone":
            // A wall-clock time with no zone reads as UTC.
            return "to_char(\(reference), \(dateTimeFormat))"
        case "bytea":
            // encode breaks base64 into lines of 76; JSON carries it in one.
            return "translate(encode(\(reference), 'base64'), E'\\n', '')"
        case "real", "double precision", "numeric":
            // to_json writes NaN and the infinities as strings; JSON has no such number.
            return "CASE WHEN \(reference) IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE \(reference) END"
        default:
            return nil
        }
    }

    /// The column's JSON value as a SQL expression (passed through when nothing maps it).
    public static func valueExpression(_ column: PostgresColumn, reference: String) -> String {
        mappedExpression(column, reference: reference) ?? reference
    }

    /// The row `row` (a row variable such as `NEW`, or a table alias) as one compact JSON object,
    /// keys in table order, of type json.
    public static func objectExpression(_ table: PostgresTable, row: String) -> String {
        let mapped = table.columns.map { mappedExpression($0, reference: row + "." + PostgresSQL.identifier($0.name)) }
        guard mapped.contains(where: { $0 != nil }) else { return "row_to_json(\(row))" }
        let members = zip(table.columns, mapped).map { column, expression in
            (expression ?? row + "." + PostgresSQL.identifier(column.name)) + " AS " + PostgresSQL.identifier(column.name)
        }
        return "(SELECT row_to_json(_feedbase_row) FROM (SELECT \(members.joined(separator: ", "))) _feedbase_row)"
    }

    /// The primary key as text: every item id is a string in URLs and events (a date-time or
    /// BLOB key as its JSON text).
    public static func keyTextExpression(_ table: PostgresTable, row: String) -> String {
        let reference = row + "." + PostgresSQL.identifier(table.primaryKey)
        guard let column = table.columns.first(where: { $0.name == table.primaryKey }),
            let mapped = mappedExpression(column, reference: reference)
        else { return reference + "::text" }
        return "(\(mapped))::text"
    }
}
