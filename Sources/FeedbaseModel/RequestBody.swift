// Reads a JSON request body (JSONBody: SQLite 3.40's grammar and json_each's view of it, without a
// database) and checks every field against the collection's schema, naming each bad field by its
// JSON pointer.

/// How a body is applied: `create` and `replace` need every required column, `patch` only the
/// columns it changes.
package enum WriteMode: Sendable {
    case create, replace, patch
}

/// One member of a JSON object body, as json_each reports it.
package struct BodyField {
    package var key: String
    /// json_each's type: null, true, false, integer, real, text, array, object.
    package var type: String
    /// The SQL value of a scalar (a REAL for an integer too large for 64 bits).
    package var atom: SQLValue
    /// The member's JSON text.
    package var json: String
    /// Whether the member is, or holds, a number beyond the range of a 64-bit float (`1e999`):
    /// SQLite reads it as an infinity, which JSON cannot carry.
    package var hasNonFiniteNumber = false

    package init(key: String, type: String, atom: SQLValue, json: String, hasNonFiniteNumber: Bool = false) {
        self.key = key
        self.type = type
        self.atom = atom
        self.json = json
        self.hasNonFiniteNumber = hasNonFiniteNumber
    }
}

/// The checked values of one body, in column order, ready to bind.
package struct RowValues {
    package var columns: [Column]
    package var values: [SQLValue]
    /// References to no item the identity may read (SQLiteStore.row): the write is tried only to
    /// find the table's own constraint failures, so that one answer lists every problem.
    package var unresolved: [Violation] = []
    /// Where the body's fields are (`/3` in a bulk create).
    package var pointerPrefix = ""

    package func value(of name: String) -> SQLValue? {
        columns.firstIndex { $0.name == name }.map { values[$0] }
    }

    package init(columns: [Column], values: [SQLValue], unresolved: [Violation] = []) {
        self.columns = columns
        self.values = values
        self.unresolved = unresolved
    }
}

package enum RequestBody {
    /// The json_type of a body (`object`, `array`, `text`, ...), or why it cannot be stored. SQLite
    /// 3.40's grammar (JSONBody): nesting stops at 2,000 levels, so deep bodies cannot exhaust the
    /// stack, and are answered as malformed.
    package static func topLevelType(of body: [UInt8]) throws -> String {
        try document(of: body).type
    }

    /// The scan of a body whose strings can all be stored, or why it is refused.
    private static func document(of body: [UInt8]) throws -> JSONBody.Document {
        guard JSONBody.isUTF8WithoutNUL(body) else {
            throw StoreError.malformed("the request body is not valid UTF-8 JSON")
        }
        guard let document = JSONBody.scan(body) else { throw StoreError.malformed("the request body is not valid JSON") }
        // SQLite's JSON decoder ended a string at an escaped NUL, which would silently store a
        // shorter string; refuse it instead (PostgreSQL's jsonb does the same), naming the value.
        if document.hasEscapedNUL, let pointer = escapedNULPointer(body) {
            throw StoreError.invalid([Violation(pointer: pointer, detail: "strings containing \\u0000 cannot be stored")])
        }
        // SQLite turned a lone surrogate escape into bytes that are not UTF-8 (read back as three
        // U+FFFD); PostgreSQL's jsonb refuses it: refuse it too, naming the value.
        if document.hasLoneSurrogate {
            throw StoreError.invalid([
                Violation(pointer: loneSurrogatePointer(body) ?? "", detail: "strings containing an unpaired surrogate escape (\\uD800 to \\uDFFF) cannot be stored")
            ])
        }
        return document
    }

    /// The JSON pointer of the first string with a `\u0000` escape in a valid JSON text (a key
    /// holding one points at its member), or nil when there is none.
    package static func escapedNULPointer(_ body: [UInt8]) -> String? {
        firstStringPointer(body) { $0.hasNUL }
    }

    /// The JSON pointer of the first string with a lone surrogate escape (as JSONBody.Scanner
    /// finds them), or nil when there is none.
    package static func loneSurrogatePointer(_ body: [UInt8]) -> String? {
        firstStringPointer(body) { $0.hasLoneSurrogate }
    }

    /// The JSON pointer of the first string of a valid JSON text that `matches`. A scan of the raw
    /// text, apart from the parse: only the rare bodies that hold such a string pay for it.
    private static func firstStringPointer(_ body: [UInt8], matches: (DecodedString) -> Bool) -> String? {
        enum Container {
            case object(key: String?)
            case array(index: Int)
        }
        var path: [Container] = []
        func pointer() -> String {
            path.reduce("") { prefix, container in
                switch container {
                case .object(let key): key.map { Self.pointer(prefix, $0) } ?? prefix
                case .array(let index): prefix + "/" + String(index)
                }
            }
        }
        var index = 0
        while index < body.count {
            switch body[index] {
            case UInt8(ascii: "{"): path.append(.object(key: nil))
            case UInt8(ascii: "["): path.append(.array(index: 0))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = path.popLast()
            case UInt8(ascii: ","):
                if case .array(let position)? = path.last { path[path.count - 1] = .array(index: position + 1) }
            case UInt8(ascii: "\""):
                let string = decodeString(body, from: index)
                // In an object, a string followed by `:` is a key.
                var next = string.end
                while next < body.count, [0x20, 0x09, 0x0A, 0x0D].contains(body[next]) { next += 1 }
                let isKey = next < body.count && body[next] == UInt8(ascii: ":")
                if isKey, case .object? = path.last { path[path.count - 1] = .object(key: string.text) }
                if matches(string) { return pointer() }
                index = string.end
                continue
            default: break
            }
            index += 1
        }
        return nil
    }

    private struct DecodedString {
        package var text: String
        /// The index after the closing quote.
        package var end: Int
        package var hasNUL = false
        /// A `\uD800`-`\uDBFF` escape not directly followed by a `\uDC00`-`\uDFFF` one, or the
        /// latter not directly preceded by the former.
        package var hasLoneSurrogate = false
    }

    /// The string starting at the quote at `start`.
    private static func decodeString(_ body: [UInt8], from start: Int) -> DecodedString {
        var bytes: [UInt8] = []
        var decoded = DecodedString(text: "", end: 0)
        var index = start + 1
        var pendingHighSurrogate: UInt32?
        /// Where the escape after a high surrogate escape must start to pair with it.
        var pairingAt = -1
        func hex(_ at: Int) -> UInt32? {
            guard at + 4 <= body.count, let value = UInt32(String(decoding: body[at..<(at + 4)], as: UTF8.self), radix: 16) else {
                return nil
            }
            return value
        }
        func append(_ scalar: UInt32) {
            bytes += Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
        }
        while index < body.count, body[index] != UInt8(ascii: "\"") {
            guard body[index] == UInt8(ascii: "\\"), index + 1 < body.count else {
                bytes.append(body[index])
                index += 1
                continue
            }
            let escapeStart = index
            let escaped = body[index + 1]
            index += 2
            guard escaped == UInt8(ascii: "u"), let unit = hex(index) else {
                switch escaped {
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                default: bytes.append(escaped)  // `"`, `\`, `/`
                }
                continue
            }
            index += 4
            if unit == 0 { decoded.hasNUL = true }
            if (0xDC00...0xDFFF).contains(unit), escapeStart != pairingAt { decoded.hasLoneSurrogate = true }
            if (0xD800...0xDBFF).contains(unit) {
                let next = index + 2 <= body.count ? Array(body[index..<index + 2]) : []
                if next != [UInt8(ascii: "\\"), UInt8(ascii: "u")] || !(0xDC00...0xDFFF).contains(hex(index + 2) ?? 0) {
                    decoded.hasLoneSurrogate = true
                }
                pairingAt = index
            }
            if let high = pendingHighSurrogate, (0xDC00...0xDFFF).contains(unit) {
                append(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00))
                pendingHighSurrogate = nil
            } else if (0xD800...0xDBFF).contains(unit) {
                pendingHighSurrogate = unit
            } else {
                append(unit)
            }
        }
        decoded.text = String(decoding: bytes, as: UTF8.self)
        decoded.end = min(index + 1, body.count)
        return decoded
    }

    /// The members of a JSON object body, in document order.
    package static func fields(ofObject body: [UInt8]) throws -> [BodyField] {
        let document = try document(of: body)
        guard document.type == "object" else {
            throw StoreError.malformed("the request body must be a JSON object, not \(describe(document.type))")
        }
        return JSONBody.fields(of: document, in: body)
    }

    /// The elements of a JSON array body, as their JSON text and json_each type.
    package static func elements(ofArray body: [UInt8]) throws -> [BodyField] {
        try members(of: body)
    }

    /// The members of a JSON object, or the elements of an array (keyed by their index), as
    /// SQLite's json_each gave them (JSONBody).
    package static func members(of body: [UInt8]) throws -> [BodyField] {
        guard let fields = JSONBody.members(of: body) else { throw StoreError.malformed("the request body is not valid JSON") }
        return fields
    }

    package static func describe(_ jsonType: String) -> String {
        switch jsonType {
        case "object": "an object"
        case "array": "an array"
        case "integer", "real": "a number"
        case "text": "a string"
        case "true", "false": "a boolean"
        default: "null"
        }
    }

    /// JSON pointer (RFC 6901) of `key` under `prefix`.
    package static func pointer(_ prefix: String, _ key: String) -> String {
        prefix + "/" + key.replacingAll("~", with: "~0").replacingAll("/", with: "~1")
    }
}

package enum RowValidator {
    /// Checks `fields` against `collection` and returns the values to write. Unknown or duplicate
    /// members make the body malformed; values of the wrong type, out of range, or missing make
    /// it invalid. All problems of one kind are reported together.
    package static func values(
        of fields: [BodyField], for collection: CollectionSchema, mode: WriteMode, pointerPrefix: String = "",
        makeID: () -> String
    ) throws -> RowValues {
        var seen = Set<String>()
        var shapeProblems: [Violation] = []
        for field in fields {
            let pointer = RequestBody.pointer(pointerPrefix, field.key)
            if collection.column(field.key) == nil {
                shapeProblems.append(Violation(pointer: pointer, detail: "unknown field; \(collection.name) has no column '\(field.key)'"))
            } else if !seen.insert(field.key).inserted {
                shapeProblems.append(Violation(pointer: pointer, detail: "duplicate field"))
            }
        }
        if !shapeProblems.isEmpty {
            throw StoreError.malformed("the request body has fields that \(collection.name) does not accept", shapeProblems)
        }

        var problems: [Violation] = []
        var row = RowValues(columns: [], values: [])
        let byKey = Dictionary(fields.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        for column in collection.columns {
            let pointer = RequestBody.pointer(pointerPrefix, column.name)
            guard let field = byKey[column.name] else {
                if mode != .patch {
                    if column.isPrimaryKey && collection.keyAssignment == .serverText {
                        row.columns.append(column)
                        row.values.append(.text(makeID()))
                    } else if column.isRequiredOnCreate
                        || (column.isPrimaryKey && collection.keyAssignment == .client && mode == .create)
                    {
                        problems.append(Violation(pointer: pointer, detail: "required"))
                    }
                }
                continue
            }
            if column.isGenerated {
                problems.append(Violation(pointer: pointer, detail: "read-only: a generated column"))
                continue
            }
            switch value(of: field, for: column) {
            case .success(.null) where column.isPrimaryKey && mode != .patch:
                // An explicit null key on create means "assign one", as when it is omitted.
                if collection.keyAssignment == .serverText {
                    row.columns.append(column)
                    row.values.append(.text(makeID()))
                } else if collection.keyAssignment == .client {
                    problems.append(Violation(pointer: pointer, detail: "must not be null"))
                }
            case .success(.null) where !column.nullable:
                problems.append(Violation(pointer: pointer, detail: "must not be null"))
            case .success(let value):
                row.columns.append(column)
                row.values.append(value)
            case .failure(let detail):
                problems.append(Violation(pointer: pointer, detail: detail.text))
            }
        }
        if !problems.isEmpty { throw StoreError.invalid(problems) }
        return row
    }

    package struct Detail: Error { var text: String }

    /// The SQL value that stores `field` in `column`, or why it cannot.
    package static func value(of field: BodyField, for column: Column) -> Result<SQLValue, Detail> {
        if field.type == "null" { return .success(.null) }
        let got = RequestBody.describe(field.type)
        switch column.type {
        case .boolean:
            switch field.type {
            case "true": return .success(.integer(1))
            case "false": return .success(.integer(0))
            default: return .failure(Detail(text: "expected a boolean, got \(got)"))
            }
        case .integer:
            switch (field.type, field.atom) {
            case ("integer", .integer(let integer)):
                return .success(.integer(integer))
            case ("integer", _):
                return .failure(Detail(text: "out of range for a 64-bit integer"))
            case ("real", .real(let real)):
                // 5.0 is an integer in JSON; 5.5 is not.
                guard real.isFinite, real == real.rounded(.towardZero) else {
                    return .failure(Detail(text: "expected an integer, got \(field.json)"))
                }
                guard real >= -9.223372036854775808e18, real < 9.223372036854775808e18 else {
                    return .failure(Detail(text: "out of range for a 64-bit integer"))
                }
                return .success(.integer(Int64(real)))
            default:
                return .failure(Detail(text: "expected an integer, got \(got)"))
            }
        case .number:
            switch (field.type, field.atom) {
            case ("integer", .integer(let integer)): return .success(.integer(integer))
            case ("integer", .real(let real)), ("real", .real(let real)):
                guard real.isFinite else { return .failure(Detail(text: "out of range for a 64-bit float")) }
                return .success(.real(real))
            default: return .failure(Detail(text: "expected a number, got \(got)"))
            }
        case .json:
            guard !field.hasNonFiniteNumber else {
                return .failure(Detail(text: "holds a number out of range for a 64-bit float"))
            }
            // A number is stored as one (the JSON type's NUMERIC affinity would convert its text
            // anyway, through one more decimal round trip).
            switch (field.type, field.atom) {
            case ("integer", .integer), ("integer", .real), ("real", .real): return .success(field.atom)
            default: return .success(.text(field.json))
            }
        case .string, .dateTime, .date, .time, .blob:
            guard field.type == "text", case .text(let text) = field.atom else {
                return .failure(Detail(text: "expected a string, got \(got)"))
            }
            switch column.type {
            case .dateTime:
                guard let normalised = Timestamp.normalizeDateTime(text) else {
                    return .failure(Detail(text: "expected an RFC 3339 date-time such as 2026-11-25T09:30:00Z"))
                }
                return .success(.text(normalised))
            case .date:
                guard Timestamp.isValidDate(text) else {
                    return .failure(Detail(text: "expected an RFC 3339 full-date such as 2026-11-25"))
                }
                return .success(.text(text))
            case .time:
                guard Timestamp.isValidTime(text) else {
                    return .failure(Detail(text: "expected a time HH:MM:SS[.fraction]"))
                }
                return .success(.text(text))
            case .blob:
                guard let bytes = Base64.decode(text) else {
                    return .failure(Detail(text: "expected standard base64 (RFC 4648 section 4)"))
                }
                return .success(.blob(bytes))
            default:
                return .success(.text(text))
            }
        }
    }
}
