// The regular expressions that filter, order and path parameters carry: the server's parsing
// rules written as patterns, so that a client keeping to them is never refused.

import FeedbaseModel

/// Regular expressions (ECMA 262, as JSON Schema reads them) of what the server accepts as text:
/// in filter operands, in path segments. Each is exact where the server's rule is regular.
enum ValueSyntax {
    static let int64 = "[+-]?[0-9]{1,18}"
    static let number = "[+-]?[0-9]{1,15}(?:\\.[0-9]{1,15})?(?:[eE][+-]?[0-9]{1,2})?"
    static let boolean = "(?:true|false)"
    /// A calendar day `YYYY-MM-DD` (Timestamp.isValidDate), leap years included.
    static let date =
        "(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
        + "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
    /// `HH:MM:SS[.f{1,9}]` (Timestamp.isValidTime): no leap second, no offset.
    static let time = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
    /// Timestamp.normalizeDateTime: `T`, `t` or a space; `Z`, `z` or `±HH:MM`. (In a query string
    /// a space may be sent as `+`, and a plus must be sent as `%2B`.)
    static let dateTime = date + "[Tt ]" + time + "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
    /// Canonical standard base64, padded or not (Base64.decode).
    static let base64 = "(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw](?:==)?|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)?"
    static let anyText = "[\\s\\S]*"
    /// A like/ilike pattern: SQLite ends a pattern at U+0000, so the server refuses one (400).
    static let pattern = "[^\\x00]*"
    /// Strings the server stores: no NUL (RequestBody.escapedNULPointer).
    static let storableString = "^[^\\x00]*$"
    /// An HTTP/1.1 field value (RFC 9110 section 5.5): tab, space, visible ASCII and obs-text.
    static let fieldValue = "^[\\t\\x20-\\x7e\\x80-\\xff]*$"

    /// An operand of `column`'s type as written in a URL.
    static func operand(_ type: ColumnType) -> String {
        switch type {
        case .integer: int64
        case .number: number
        case .boolean: boolean
        case .date: date
        case .time: time
        case .dateTime: dateTime
        case .blob: base64
        case .string, .json: anyText
        }
    }

    /// The items of `in.(...)`: typed operands separated by commas, or, for text, items that may
    /// be quoted (`"a,b"`, with `\` escaping) (QueryParameters.list).
    static func list(_ type: ColumnType) -> String {
        switch type {
        case .string, .json:
            let item = #"(?:"(?:[^"\\]|\\[\s\S])*"|[^,"][^,]*)?"#
            return item + "(?:," + item + ")*"
        default:
            let item = operand(type)
            return "(?:" + item + "(?:," + item + ")*)?"
        }
    }

    /// One value (one condition) of a filter parameter on `column`: `[not.]op.operand` with the
    /// operators its type takes (FilterPlanner.condition).
    static func filter(_ type: ColumnType) -> String {
        var alternatives = ["(?:eq|neq)\\." + operand(type)]
        if ![.boolean, .blob, .json].contains(type) { alternatives.append("(?:gt|gte|lt|lte)\\." + operand(type)) }
        if [.string, .dateTime, .date, .time, .json].contains(type) { alternatives.append("i?like\\." + pattern) }
        alternatives.append("in\\.\\(" + list(type) + "\\)")
        alternatives.append(type == .boolean ? "is\\.(?:null|true|false)" : "is\\.null")
        return "^(?:not\\.)?(?:" + alternatives.joined(separator: "|") + ")$"
    }

    /// One condition inside a logic group, after `column.`, as the document describes it: a
    /// subset of what QueryParameters.group reads, small enough for tools that generate values
    /// from patterns (the whole syntax, with dates, lists and nesting, made them crawl): `is`,
    /// and the comparisons of integer, number, boolean and string columns, text quoted when it
    /// holds `,`, `(`, `)` or `"` (`"a, b"`, `\` escaping).
    static func groupCondition(_ type: ColumnType) -> String {
        let text = #"(?:"(?:[^"\\]|\\[\s\S])*"|[^",()]*)"#
        let pattern = #"(?:"(?:[^"\\\x00]|\\[^\x00])*"|[^",()\x00]*)"#
        var alternatives = [type == .boolean ? "is\\.(?:null|true|false)" : "is\\.null"]
        switch type {
        case .integer, .number: alternatives.append("(?:eq|neq|gt|gte|lt|lte)\\." + operand(type))
        case .boolean: alternatives.append("(?:eq|neq)\\." + boolean)
        case .string:
            alternatives.append("(?:eq|neq|gt|gte|lt|lte)\\." + text)
            alternatives.append("i?like\\." + pattern)
        case .dateTime, .date, .time, .blob, .json: break
        }
        return "(?:not\\.)?(?:" + alternatives.joined(separator: "|") + ")"
    }

    /// The operators a column of `type` takes, for descriptions.
    static func operators(_ type: ColumnType) -> [String] {
        var names = ["eq", "neq"]
        if ![.boolean, .blob, .json].contains(type) { names += ["gt", "gte", "lt", "lte"] }
        if [.string, .dateTime, .date, .time, .json].contains(type) { names += ["like", "ilike"] }
        names += ["in", "is"]
        return names
    }

    /// `text` as a regular expression matching itself. Only ECMA 262's syntax characters are
    /// escaped: an identity escape of anything else (`\-`) is an error in Unicode mode.
    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\^$.|?*+()[]{}".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    static func alternation(_ words: [String]) -> String {
        "(?:" + words.map(escaped).joined(separator: "|") + ")"
    }
}
