// The JSON reading that planning needs (FeedbaseModel's JSONReading), done in Swift: planning is
// synchronous and the PostgreSQL engine has no connection at hand for it, and what it asks is
// small (is this text JSON, its compact form; the scalars of a cursor's array). A JSON column's
// operand then compares as jsonb in PostgreSQL (`$n::jsonb`), so its compact form needs no
// further canonical shape here.

import FeedbaseModel

struct PostgresJSON: JSONReading {
    func normalized(_ text: String) throws -> String {
        var reader = Reader(Array(text.utf8))
        guard let value = reader.document() else { return JSONText.quote(text) }
        return value.compact
    }

    func arrayElements(_ text: String) throws -> [(type: String, value: SQLValue)]? {
        var reader = Reader(Array(text.utf8))
        guard case .array(let elements)? = reader.document() else { return nil }
        return elements.map { element in
            switch element {
            case .null: ("null", .null)
            case .bool(let value): (value ? "true" : "false", .integer(value ? 1 : 0))
            case .number(let text):
                if let integer = Int64(text) { ("integer", .integer(integer)) } else { ("real", .real(Double(text) ?? 0)) }
            case .string(let value, _): ("text", .text(value))
            case .array: ("array", .text(element.compact))
            case .object(let members):
                // json_each's scalar for an object is none; the cursor's BLOB form is {"base64": "…"}.
                ("object", members.first { $0.key == "base64" }.flatMap { member -> SQLValue? in
                    if case .string(let value, _) = member.value { return .text(value) } else { return nil }
                } ?? .null)
            }
        }
    }

    indirect enum Value {
        case null
        case bool(Bool)
        /// As written.
        case number(String)
        /// The value, and its JSON text as written (escapes kept, as SQLite's json() keeps them).
        case string(String, raw: String)
        case array([Value])
        case object([(key: String, rawKey: String, value: Value)])

        var compact: String {
            switch self {
            case .null: "null"
            case .bool(let value): value ? "true" : "false"
            case .number(let text): text
            case .string(_, let raw): raw
            case .array(let elements): "[" + elements.map(\.compact).joined(separator: ",") + "]"
            case .object(let members): "{" + members.map { $0.rawKey + ":" + $0.value.compact }.joined(separator: ",") + "}"
            }
        }
    }

    /// A strict RFC 8259 reader.
    struct Reader {
        let bytes: [UInt8]
        var index = 0
        var depth = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func document() -> Value? {
            guard let value = value() else { return nil }
            skipSpace()
            return index == bytes.count ? value : nil
        }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            let word = Array(word.utf8)
            guard bytes.count - index >= word.count, Array(bytes[index..<index + word.count]) == word else { return false }
            index += word.count
            return true
        }

        mutating func value() -> Value? {
            skipSpace()
            guard index < bytes.count, depth < 1000 else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "["):
                index += 1
                depth += 1
                defer { depth -= 1 }
                var elements: [Value] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array([])
                }
                while true {
                    guard let element = value() else { return nil }
                    elements.append(element)
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    guard bytes[index] == UInt8(ascii: "]") else { return nil }
                    index += 1
                    return .array(elements)
                }
            case UInt8(ascii: "{"):
                index += 1
                depth += 1
                defer { depth -= 1 }
                var members: [(key: String, rawKey: String, value: Value)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object([])
                }
                while true {
                    skipSpace()
                    guard case .string(let key, let raw)? = string() else { return nil }
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                    index += 1
                    guard let member = value() else { return nil }
                    members.append((key, raw, member))
                    skipSpace()
                    guard index < bytes.count else { return nil }
                    if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                    guard bytes[index] == UInt8(ascii: "}") else { return nil }
                    index += 1
                    return .object(members)
                }
            default: return number()
            }
        }

        mutating func number() -> Value? {
            let start = index
            func digits() -> Int {
                let from = index
                while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
                return index - from
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "0") { index += 1 } else if digits() == 0 { return nil }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { return nil }
            }
            return .number(String(decoding: bytes[start..<index], as: UTF8.self))
        }

        mutating func string() -> Value? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index
            index += 1
            var scalars = String.UnicodeScalarView()
            var pendingHigh: UInt32?
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    guard pendingHigh == nil else { return nil }
                    index += 1
                    return .string(String(scalars), raw: String(decoding: bytes[start..<index], as: UTF8.self))
                }
                guard byte >= 0x20 else { return nil }
                if byte != UInt8(ascii: "\\") {
                    guard pendingHigh == nil else { return nil }
                    // One whole UTF-8 sequence (the input is a Swift String: valid UTF-8).
                    var end = index + 1
                    while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
                    scalars += String(decoding: bytes[index..<end], as: UTF8.self).unicodeScalars
                    index = end
                    continue
                }
                index += 1
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                var scalar: UInt32
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalar = UInt32(escape)
                case UInt8(ascii: "b"): scalar = 8
                case UInt8(ascii: "f"): scalar = 12
                case UInt8(ascii: "n"): scalar = 10
                case UInt8(ascii: "r"): scalar = 13
                case UInt8(ascii: "t"): scalar = 9
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else { return nil }
                    index += 4
                    scalar = code
                default: return nil
                }
                if let high = pendingHigh {
                    guard (0xDC00...0xDFFF).contains(scalar) else { return nil }
                    scalar = 0x10000 + ((high - 0xD800) << 10) + (scalar - 0xDC00)
                    pendingHigh = nil
                } else if (0xD800...0xDBFF).contains(scalar) {
                    pendingHigh = scalar
                    continue
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    return nil
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                scalars.append(unicode)
            }
            return nil
        }
    }
}
