// An item's JSON (as `json_object` built it for a GET or an event) read back into the values
// SQL compares for each column: booleans as 0/1, BLOBs from base64 (`{"base64": …}` in a
// column of another type), numbers as INTEGER or REAL, a JSON column as its normalised JSON
// text (what a filter on it compares). A small reader for the one shape SQLite writes here (a
// flat object, no whitespace), not a general JSON parser.

public enum RowImage {
    /// The value of each column named in `names` (NULL for a key the object lacks), or nil when
    /// `json` is not such an object.
    package static func values(_ json: [UInt8], names: [String], types: [ColumnType]) -> [SQLValue]? {
        var reader = Reader(bytes: json)
        guard let members = reader.object() else { return nil }
        var values = [SQLValue](repeating: .null, count: names.count)
        // Keys come in table order: match them in one pass, falling back to a search.
        var next = 0
        for member in members {
            let index: Int
            if next < names.count, names[next] == member.key {
                index = next
            } else if let found = names.firstIndex(of: member.key) {
                index = found
            } else {
                continue
            }
            next = index + 1
            values[index] = value(member.raw, json: json, type: types[index])
        }
        return values
    }

    private static func value(_ raw: Range<Int>, json: [UInt8], type: ColumnType) -> SQLValue {
        let bytes = json[raw]
        guard let first = bytes.first else { return .null }
        if type == .json {
            // A filter on a JSON column compares its normalised JSON text.
            return first == UInt8(ascii: "n") ? .null : .text(String(decoding: bytes, as: UTF8.self))
        }
        switch first {
        case UInt8(ascii: "n"):
            return .null
        case UInt8(ascii: "{"):
            // `{"base64": "…"}`: another program's BLOB in a column of another type
            // (RowJSON.foreignBlob), compared as the stored BLOB.
            return foreignBlob(Array(bytes)).map { .blob($0) } ?? .text(String(decoding: bytes, as: UTF8.self))
        case UInt8(ascii: "t"):
            return .integer(1)
        case UInt8(ascii: "f"):
            return .integer(0)
        case UInt8(ascii: "\""):
            var reader = Reader(bytes: Array(bytes))
            guard let text = reader.string() else { return .null }
            if type == .blob, let decoded = Base64.decode(text) { return .blob(decoded) }
            return .text(text)
        default:
            let text = String(decoding: bytes, as: UTF8.self)
            if let integer = Int64(text) { return .integer(integer) }
            return Double(text).map { .real($0) } ?? .text(text)
        }
    }

    /// The bytes of `{"base64": "…"}`; nil for anything else.
    private static func foreignBlob(_ json: [UInt8]) -> [UInt8]? {
        var reader = Reader(bytes: json)
        guard let members = reader.object(), members.count == 1, members[0].key == "base64",
            let text = string(json[members[0].raw])
        else { return nil }
        return Base64.decode(text)
    }

    /// The members of a JSON object as written by SQLite: each key and the bytes of its value;
    /// nil when `json` is not an object.
    public static func members(of json: [UInt8]) -> [(key: String, raw: Range<Int>)]? {
        var reader = Reader(bytes: json)
        return reader.object()
    }

    /// The JSON string `raw` (with its quotes), unescaped; nil when it is not one.
    public static func string(_ raw: ArraySlice<UInt8>) -> String? {
        var reader = Reader(bytes: Array(raw))
        guard let text = reader.string(), reader.index == raw.count else { return nil }
        return text
    }

    /// A REAL as SQLite writes it as text (`%!.15g`), for GLOB and LIKE on a number.
    package static func sqliteText(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) + ".0" }
        return String(value)
    }

    private struct Reader {
        package let bytes: [UInt8]
        package var index = 0

        package init(bytes: [UInt8]) { self.bytes = bytes }

        package mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// The members of an object: each key and the byte range of its raw value.
        package mutating func object() -> [(key: String, raw: Range<Int>)]? {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
            index += 1
            var members: [(String, Range<Int>)] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return [] }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                skipSpace()
                let start = index
                guard skipValue() else { return nil }
                members.append((key, start..<index))
                skipSpace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return members
                } else {
                    return nil
                }
            }
        }

        /// A JSON string, unescaped.
        package mutating func string() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            var run = index
            var result = ""
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    result += String(decoding: bytes[run..<index], as: UTF8.self)
                    index += 1
                    return result
                }
                guard byte == UInt8(ascii: "\\") else {
                    index += 1
                    continue
                }
                result += String(decoding: bytes[run..<index], as: UTF8.self)
                index += 1
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.unicodeScalars.append(Unicode.Scalar(escape))
                case UInt8(ascii: "b"): result += "\u{08}"
                case UInt8(ascii: "f"): result += "\u{0C}"
                case UInt8(ascii: "n"): result += "\n"
                case UInt8(ascii: "r"): result += "\r"
                case UInt8(ascii: "t"): result += "\t"
                case UInt8(ascii: "u"):
                    guard var code = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    {
                        index += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    result.unicodeScalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default:
                    return nil
                }
                run = index
            }
            return nil
        }

        private mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var code: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: return nil
                }
                code = code << 4 | digit
            }
            index += 4
            return code
        }

        /// Moves past one value of any kind (nested objects and arrays included).
        package mutating func skipValue() -> Bool {
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                return string() != nil
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: "\""):
                        guard string() != nil else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            index += 1
                            return true
                        }
                    default:
                        break
                    }
                    index += 1
                }
                return false
            default:
                let start = index
                while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(bytes[index]) { index += 1 }
                return index > start
            }
        }
    }
}
