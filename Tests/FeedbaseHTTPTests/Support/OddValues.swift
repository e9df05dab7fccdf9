// Values other programs store, for the foreign-value tests: for each column of a table of every
// type, SQL literals the sqlite3 shell writes (most of another type than the column's, a BLOB in
// every column among them) with the
// JSON each must read as (docs/SCHEMA.md, "Values other programs write"), operands to filter
// with, and a model of `eq`, `neq`, `in` and `is` on the value as read.

import Foundation

enum OddValues {
    static let sql = """
        CREATE TABLE v (id INTEGER PRIMARY KEY, n INTEGER, r REAL, s TEXT, b BOOLEAN, d DATETIME, j JSON, day DATE, tm TIME, bin BLOB, code STRING);
        CREATE INDEX v_n ON v (n);
        CREATE INDEX v_b ON v (b);
        """

    struct ColumnValues: Sendable {
        var name: String
        var type: String
        /// An SQL literal and the JSON text of the value it reads as.
        var stored: [(sql: String, reads: String)]
        var operands: [String]
        var ops: [String]
    }

    static let all = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "is"]

    static let columns: [ColumnValues] = [
        ColumnValues(name: "n", type: "integer", stored: [
            ("NULL", "null"), ("-2", "-2"), ("0", "0"), ("3", "3"), ("'abc'", #""abc""#), ("2.5", "2.5"), ("'5x'", #""5x""#), ("1e20", "1e20"),
            ("0.30000000000000004", "0.30000000000000004"), ("1e999", "null"), ("-1e999", "null"), ("'7'", "7"),
            ("x'0001'", #"{"base64":"AAE="}"#), ("x''", #"{"base64":""}"#),
        ], operands: ["-2", "0", "1", "3", "7", "x", "2.5"], ops: all),
        ColumnValues(name: "r", type: "number", stored: [
            ("NULL", "null"), ("-0.5", "-0.5"), ("0", "0"), ("1.5", "1.5"), ("1e300", "1e300"), ("'t'", #""t""#), ("1e999", "null"),
            ("-1e999", "null"), ("'2.5'", "2.5"), ("0.1", "0.1"), ("x'41'", #"{"base64":"QQ=="}"#),
        ], operands: ["1.5", "2", "-0.5", "0", "nope", "1e300", "0.1", "2.5"], ops: all),
        ColumnValues(name: "s", type: "string", stored: [
            ("NULL", "null"), ("'a'", #""a""#), ("'ab'", #""ab""#), ("'A'", #""A""#), ("''", #""""#), ("'é'", #""é""#), ("7", #""7""#), ("'b*'", #""b*""#), ("1e999", #""Inf""#),
            ("x'61'", #"{"base64":"YQ=="}"#), ("x'c3a9'", #"{"base64":"w6k="}"#), ("x''", #"{"base64":""}"#),
        ], operands: ["a", "ab", "A", "", "a*", "*b", "*", "é*", "7"], ops: all + ["like", "ilike"]),
        ColumnValues(name: "b", type: "boolean", stored: [
            ("NULL", "null"), ("0", "false"), ("1", "true"), ("2", "true"), ("-1", "true"), ("0.5", "true"), ("'false'", "false"), ("'no'", "false"),
            ("''", "false"), ("'true'", "true"), ("'1'", "true"), ("'T'", "true"), ("'yes'", "true"), ("'maybe'", "false"), ("'on'", "true"),
            ("'OFF'", "false"), ("x'74'", "true"), ("'0'", "false"),
        ], operands: ["true", "false", "maybe"], ops: ["eq", "neq", "in", "is"]),
        ColumnValues(name: "d", type: "date-time", stored: [
            ("NULL", "null"), ("'2026-01-01T00:00:00.000Z'", #""2026-01-01T00:00:00.000Z""#), ("'2026-06-01T10:00:00.000Z'", #""2026-06-01T10:00:00.000Z""#),
            ("'yesterday'", #""yesterday""#), ("'2026-01-01 10:00:00'", #""2026-01-01 10:00:00""#), ("20260101", "20260101"), ("''", #""""#), ("1e999", "null"), ("-1e999", "null"),
            ("x'32303236'", #"{"base64":"MjAyNg=="}"#),
        ], operands: ["2026-01-01T00:00:00Z", "2026-06-01T12:00:00+02:00", "yesterday", "2026*", "*"], ops: all + ["like", "ilike"]),
        ColumnValues(name: "j", type: "json", stored: [
            ("NULL", "null"), (#"'{"a":1}'"#, #"{"a":1}"#), ("'[1,2]'", "[1,2]"), (#"'"x"'"#, #""x""#), ("1", "1"), (#"'{"a": 2}'"#, #"{"a":2}"#),
            ("'hello'", #""hello""#), ("'null'", "null"), ("' [1, 2] '", "[1,2]"), ("2.5", "2.5"), ("x'7b7d'", "{}"),
            ("x'6869'", #""hi""#), (#"'"hello"'"#, #""hello""#), ("''", #""""#), ("'true'", "true"), ("'tRue'", #""tRue""#),
        ], operands: [#"{"a":1}"#, "[1,2]", #""x""#, "1", "x", "hello", #""hello""#, "*ell*", "null", "hi", "{}", "2.5", "true", "tRue", ""],
            ops: ["eq", "neq", "in", "is", "like", "ilike"]),
        ColumnValues(name: "day", type: "date", stored: [
            ("NULL", "null"), ("'2026-01-01'", #""2026-01-01""#), ("'2026-01-02'", #""2026-01-02""#), ("'2026-1-1'", #""2026-1-1""#), ("5", "5"), ("1e999", "null"),
            ("x'0001'", #"{"base64":"AAE="}"#),
        ], operands: ["2026-01-01", "2026-01-02", "2026-13-01", "2026*"], ops: all + ["like"]),
        ColumnValues(name: "tm", type: "time", stored: [
            ("NULL", "null"), ("'08:30:00'", #""08:30:00""#), ("'8:30'", #""8:30""#), ("'noon'", #""noon""#), ("1.5", "1.5"), ("-1e999", "null"), ("x'ff'", #"{"base64":"/w=="}"#),
        ], operands: ["08:30:00", "12:00:00", "8:30", "*0*"], ops: all + ["like"]),
        ColumnValues(name: "bin", type: "blob", stored: [
            ("NULL", "null"), ("x'00ff'", #""AP8=""#), ("x''", #""""#), ("'text'", #""dGV4dA==""#), ("''", #""""#), ("5", #""NQ==""#), ("2.5", #""Mi41""#),
            ("'é'", #""w6k=""#), ("x'74657874'", #""dGV4dA==""#),
        ], operands: ["AP8=", "", "dGV4dA==", "NQ==", "Mi41", "w6k=", "!!"], ops: ["eq", "neq", "in", "is"]),
        // STRING has NUMERIC affinity: SQLite stores '007' as the number 7.
        ColumnValues(name: "code", type: "string", stored: [
            ("NULL", "null"), ("'007'", "7"), ("'abc'", #""abc""#), ("7", "7"), ("'7.0'", "7"), ("'7x'", #""7x""#), ("1e999", "null"), ("x'37'", #"{"base64":"Nw=="}"#),
        ], operands: ["007", "7", "abc", "7.0", "7x", "7*"], ops: all + ["like", "ilike"]),
    ]

    static func column(_ name: String) -> ColumnValues? { columns.first { $0.name == name } }

    /// The JSON value of a JSON text.
    static func value(_ json: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])) ?? NSNull()
    }

    /// One condition in the URL's syntax.
    struct Condition: CustomStringConvertible {
        var column: String
        var op: String
        var negated: Bool
        /// The operand, or the items of an `in` list.
        var operands: [String]

        var description: String { "\(column)=\(value)" }

        /// `[not.]op.operand`, percent-encoded (the server decodes before it parses).
        var query: String { column + "=" + Self.encode(value) }

        var value: String {
            let operand = op == "in" ? "(" + operands.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + ")" : operands.first ?? ""
            return (negated ? "not." : "") + op + "." + operand
        }

        static func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
        }
    }

    static func randomCondition(_ random: inout some RandomNumberGenerator) -> Condition {
        let column = columns.randomElement(using: &random)!
        let op = column.ops.randomElement(using: &random)!
        let operands: [String]
        switch op {
        case "is": operands = [["null", "true", "false"].randomElement(using: &random)!]
        case "in": operands = (0..<Int.random(in: 1...3, using: &random)).map { _ in column.operands.randomElement(using: &random)! }
        default: operands = [column.operands.randomElement(using: &random)!]
        }
        return Condition(column: column.name, op: op, negated: Int.random(in: 0..<4, using: &random) == 0, operands: operands)
    }

    /// Whether a row whose column reads as `shown` meets `condition`, by SQL's three-valued
    /// logic (nil is NULL), judged on the value as read; `.none` when the model does not decide
    /// (an operator it leaves to the band-versus-listing oracle), `.some(.none)`... flattened:
    /// `decided` false. A condition the server must refuse (`400`) has `invalid` true.
    static func model(_ condition: Condition, shown: Any) -> (decided: Bool, invalid: Bool, result: Bool?) {
        guard let column = column(condition.column) else { return (false, true, nil) }
        func equal(_ operand: String) -> (valid: Bool, result: Bool?) {
            if shown is NSNull { return (parse(operand, column.type) != nil, nil) }
            guard let parsed = parse(operand, column.type) else { return (false, nil) }
            if let x = number(shown), let y = number(parsed) { return (true, x == y) }
            if number(shown) != nil || number(parsed) != nil { return (true, false) }
            return (true, (try? canonical(shown)) == (try? canonical(parsed)))
        }
        var result: Bool?
        switch condition.op {
        case "is":
            switch condition.operands.first {
            case "null": result = shown is NSNull
            case let word where column.type == "boolean":
                if shown is NSNull { result = word == "true" ? false : nil } else { result = (shown as? Bool) == (word == "true") }
            default: return (true, true, nil)
            }
        case "eq", "neq":
            guard ["boolean", "integer", "number", "string", "json", "blob", "date", "time"].contains(column.type) else { return (false, false, nil) }
            let (valid, equals) = equal(condition.operands.first ?? "")
            guard valid else { return (true, true, nil) }
            result = condition.op == "eq" ? equals : equals.map { !$0 }
        case "in":
            guard ["boolean", "integer", "number", "string", "json", "blob", "date", "time"].contains(column.type) else { return (false, false, nil) }
            let results = condition.operands.map(equal)
            guard results.allSatisfy(\.valid) else { return (true, true, nil) }
            result = shown is NSNull ? nil : results.contains { $0.result == true }
        default:
            return (false, false, nil)
        }
        return (true, false, condition.negated ? result.map { !$0 } : result)
    }

    /// An operand as the column's type reads it, as a JSON value; nil when the server refuses it.
    static func parse(_ operand: String, _ type: String) -> Any? {
        switch type {
        case "boolean": return ["true": true, "false": false][operand]
        case "integer": return Int64(operand).map { NSNumber(value: $0) }
        case "number":
            guard let value = Double(operand), value.isFinite, operand.allSatisfy({ "0123456789.eE+-".contains($0) }) else { return nil }
            return value
        case "json":
            return (try? JSONSerialization.jsonObject(with: Data(operand.utf8), options: [.fragmentsAllowed])) ?? operand
        case "blob":
            guard let data = Data(base64Encoded: operand), data.base64EncodedString() == operand else { return nil }
            return operand
        case "date":
            return operand.wholeMatch(of: /\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])/) != nil ? operand : nil
        case "time":
            return operand.wholeMatch(of: /([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?/) != nil ? operand : nil
        default: return operand
        }
    }

    /// A JSON number's value (not a boolean); nil for anything else.
    static func number(_ value: Any) -> Double? {
        guard let number = value as? NSNumber, !(value is Bool && (try? canonical(value)).map({ $0 == "true" || $0 == "false" }) == true) else { return nil }
        return number.doubleValue
    }
}
