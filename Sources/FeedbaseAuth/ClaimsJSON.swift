// The JSON of a JWT's header and payload, parsed by hand for one reason: `Identity.claims`
// gives numbers as they were written (`1.50` stays `1.50`, a 20-digit id keeps its digits),
// which Foundation's decoders cannot. Strict RFC 8259; duplicate names are refused (RFC 7519
// §4 allows it, and two parsers reading one token differently is how checks get bypassed).

enum ClaimValue: Equatable {
    case string(String)
    /// The number's text exactly as written.
    case number(String)
    case bool(Bool)
    case null
    case array([ClaimValue])
    case object([String: ClaimValue])

    /// The member at a dotted path (`app_metadata.role`), or nil when any step is missing.
    func value(at path: [String]) -> ClaimValue? {
        var current = self
        for name in path {
            guard case .object(let members) = current, let next = members[name] else { return nil }
            current = next
        }
        return current
    }

    /// Scalars as text, nested objects flattened with dots, arrays and nulls left out.
    func flattened() -> [String: String] {
        var out: [String: String] = [:]
        func visit(_ value: ClaimValue, _ name: String) {
            switch value {
            case .string(let text): out[name] = text
            case .number(let text): out[name] = text
            case .bool(let flag): out[name] = flag ? "true" : "false"
            case .object(let members):
                for (key, member) in members { visit(member, name.isEmpty ? key : name + "." + key) }
            case .null, .array: break
            }
        }
        visit(self, "")
        return out
    }

    /// A number as a double, for time comparisons.
    var numberValue: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }
}

struct ClaimsJSONError: Error {
    var reason: String
}

struct ClaimsJSONParser {
    private let bytes: [UInt8]
    private var index = 0
    private static let maxDepth = 32

    static func parse(_ bytes: [UInt8]) throws(ClaimsJSONError) -> ClaimValue {
        var parser = ClaimsJSONParser(bytes: bytes)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw ClaimsJSONError(reason: "text after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func skipWhitespace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    private mutating func expect(_ literal: String) throws(ClaimsJSONError) {
        for byte in literal.utf8 {
            guard index < bytes.count, bytes[index] == byte else { throw ClaimsJSONError(reason: "invalid JSON literal") }
            index += 1
        }
    }

    private mutating func value(depth: Int) throws(ClaimsJSONError) -> ClaimValue {
        guard depth < Self.maxDepth else { throw ClaimsJSONError(reason: "nested too deeply") }
        skipWhitespace()
        guard index < bytes.count else { throw ClaimsJSONError(reason: "unexpected end of JSON") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func object(depth: Int) throws(ClaimsJSONError) -> ClaimValue {
        index += 1
        var members: [String: ClaimValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw ClaimsJSONError(reason: "expected a member name") }
            let name = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw ClaimsJSONError(reason: "expected ':'") }
            index += 1
            guard members.updateValue(try value(depth: depth + 1), forKey: name) == nil else {
                throw ClaimsJSONError(reason: "duplicate member \(quotedForMessage(name))")
            }
            skipWhitespace()
            guard index < bytes.count else { throw ClaimsJSONError(reason: "unexpected end of JSON") }
            index += 1
            switch bytes[index - 1] {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return .object(members)
            default: throw ClaimsJSONError(reason: "expected ',' or '}'")
            }
        }
    }

    private mutating func array(depth: Int) throws(ClaimsJSONError) -> ClaimValue {
        index += 1
        var elements: [ClaimValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw ClaimsJSONError(reason: "unexpected end of JSON") }
            index += 1
            switch bytes[index - 1] {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "]"): return .array(elements)
            default: throw ClaimsJSONError(reason: "expected ',' or ']'")
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`, returned as written.
    private mutating func number() throws(ClaimsJSONError) -> String {
        let start = index
        func digits() -> Int {
            let first = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            return index - first
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0, integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            throw ClaimsJSONError(reason: "invalid JSON value")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw ClaimsJSONError(reason: "invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw ClaimsJSONError(reason: "invalid number") }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func string() throws(ClaimsJSONError) -> String {
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw ClaimsJSONError(reason: "a string is not UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                try escape(into: &out)
            case 0..<0x20:
                throw ClaimsJSONError(reason: "a control character in a string")
            default:
                out.append(byte)
            }
        }
        throw ClaimsJSONError(reason: "unterminated string")
    }

    private mutating func escape(into out: inout [UInt8]) throws(ClaimsJSONError) {
        guard index < bytes.count else { throw ClaimsJSONError(reason: "unterminated string") }
        let escaped = bytes[index]
        index += 1
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hexUnit()
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw ClaimsJSONError(reason: "an unpaired surrogate in a string")
                }
                index += 2
                let low = try hexUnit()
                guard (0xDC00...0xDFFF).contains(low) else { throw ClaimsJSONError(reason: "an unpaired surrogate in a string") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw ClaimsJSONError(reason: "an unpaired surrogate in a string") }
            out.append(contentsOf: Array(String(Character(unicode)).utf8))
        default:
            throw ClaimsJSONError(reason: "an invalid escape in a string")
        }
    }

    private mutating func hexUnit() throws(ClaimsJSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw ClaimsJSONError(reason: "an invalid \\u escape") }
        var value: UInt32 = 0
        for byte in bytes[index..<(index + 4)] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw ClaimsJSONError(reason: "an invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }
}

/// A name from a token, quoted and cut short for an error message: it is attacker-chosen text.
func quotedForMessage(_ text: String) -> String {
    let printable = text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }
    var shown = String(String.UnicodeScalarView(printable.prefix(64)))
    if printable.count > 64 { shown += "…" }
    return "'" + shown + "'"
}
