// An ordered JSON value for the documents the server describes itself with (OpenAPI, AsyncAPI),
// and its two spellings: pretty-printed JSON, and block-style YAML that reads back as the same
// JSON under YAML 1.2 and under YAML 1.1 parsers (PyYAML). Object members keep the order they
// were added in, so one input always gives the same bytes.

public enum DocumentValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([DocumentValue])
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: DocumentValue

        public init(_ key: String, _ value: DocumentValue) {
            self.key = key
            self.value = value
        }
    }

    /// An object from members in order; a repeated key keeps its first place and its last value.
    public static func object(ordered pairs: [(String, DocumentValue)]) -> DocumentValue {
        var object = DocumentValue.object([])
        for (key, value) in pairs { object[key] = value }
        return object
    }

    /// A member of an object (nil for a missing key or a value that is not an object). Setting a
    /// key replaces its value in place or appends it; setting nil removes it.
    public subscript(key: String) -> DocumentValue? {
        get {
            guard case .object(let members) = self else { return nil }
            return members.first { $0.key == key }?.value
        }
        set {
            guard case .object(var members) = self else { return }
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key, newValue))
            }
            self = .object(members)
        }
    }

    /// An element of an array, nil when out of range or not an array.
    public subscript(index: Int) -> DocumentValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var arrayValue: [DocumentValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The keys of an object, in order.
    public var keys: [String] {
        if case .object(let members) = self { return members.map(\.key) }
        return []
    }
}

extension DocumentValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: DocumentValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, DocumentValue)...) { self = .object(ordered: elements) }
}

// MARK: JSON

extension DocumentValue {
    /// Pretty-printed UTF-8 JSON: two-space indent, `"key": value`, a final newline.
    public func json() -> [UInt8] {
        var out: [UInt8] = []
        writeJSON(into: &out, indent: 0)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    private func writeJSON(into out: inout [UInt8], indent: Int) {
        switch self {
        case .null, .bool, .integer, .number:
            out += scalarText.utf8
        case .string(let text):
            Self.writeJSONString(text, into: &out)
        case .array(let elements):
            guard !elements.isEmpty else { return out += "[]".utf8 }
            out += "[\n".utf8
            for (index, element) in elements.enumerated() {
                out += repeatElement(UInt8(ascii: " "), count: indent + 2)
                element.writeJSON(into: &out, indent: indent + 2)
                out += (index == elements.count - 1 ? "\n" : ",\n").utf8
            }
            out += repeatElement(UInt8(ascii: " "), count: indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            guard !members.isEmpty else { return out += "{}".utf8 }
            out += "{\n".utf8
            for (index, member) in members.enumerated() {
                out += repeatElement(UInt8(ascii: " "), count: indent + 2)
                Self.writeJSONString(member.key, into: &out)
                out += ": ".utf8
                member.value.writeJSON(into: &out, indent: indent + 2)
                out += (index == members.count - 1 ? "\n" : ",\n").utf8
            }
            out += repeatElement(UInt8(ascii: " "), count: indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeJSONString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case UInt8(ascii: "\n"): out += #"\n"#.utf8
            case UInt8(ascii: "\r"): out += #"\r"#.utf8
            case UInt8(ascii: "\t"): out += #"\t"#.utf8
            case 0..<0x20: out += unicodeEscape(UInt32(byte)).utf8
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `\u` and four hex digits, valid in JSON strings and in YAML double-quoted scalars alike.
    private static func unicodeEscape(_ value: UInt32) -> String {
        let digits = Array("0123456789ABCDEF")
        return "\\u" + String((0..<4).map { digits[Int(value >> UInt32(12 - $0 * 4) & 15)] })
    }

    /// The text of a scalar; numbers always carry a fraction or an exponent with a dot before
    /// it (`1.0e+20`), so YAML 1.1 parsers read them back as floats too.
    private var scalarText: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .number(let value):
            // Non-finite numbers have no JSON spelling; the documents never hold one.
            guard value.isFinite else { return "null" }
            var text = "\(value)"
            if !text.contains(".") {
                if let exponent = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
                    text.insert(contentsOf: ".0", at: exponent)
                } else {
                    text += ".0"
                }
            }
            return text
        case .string(let text): return text
        case .array, .object: return ""
        }
    }
}

// MARK: YAML

extension DocumentValue {
    /// Block-style YAML: mappings and sequences one entry a line, indented by two; strings plain
    /// only when no YAML 1.1 or 1.2 resolver could read them as anything else, double-quoted
    /// otherwise. Parses back to the value `json()` writes.
    public func yaml() -> String {
        var lines: [String] = []
        switch self {
        case .array(let elements) where !elements.isEmpty:
            writeYAML(into: &lines, indent: 0)
        case .object(let members) where !members.isEmpty:
            writeYAML(into: &lines, indent: 0)
        default:
            lines.append(yamlScalar)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Whether this value is written on the line of its key or dash.
    private var isInlineInYAML: Bool {
        switch self {
        case .array(let elements): return elements.isEmpty
        case .object(let members): return members.isEmpty
        default: return true
        }
    }

    private var yamlScalar: String {
        switch self {
        case .string(let text): return Self.yamlString(text)
        case .array: return "[]"
        case .object: return "{}"
        default: return scalarText
        }
    }

    private func writeYAML(into lines: inout [String], indent: Int) {
        let padding = String(repeating: " ", count: indent)
        switch self {
        case .object(let members):
            for member in members {
                let key = Self.yamlString(member.key)
                if member.value.isInlineInYAML {
                    lines.append(padding + key + ": " + member.value.yamlScalar)
                } else {
                    lines.append(padding + key + ":")
                    member.value.writeYAML(into: &lines, indent: indent + 2)
                }
            }
        case .array(let elements):
            for element in elements {
                if element.isInlineInYAML {
                    lines.append(padding + "- " + element.yamlScalar)
                } else {
                    // The nested block starts on the dash's line: `- key: value`, `- - item`.
                    var nested: [String] = []
                    element.writeYAML(into: &nested, indent: indent + 2)
                    nested[0] = padding + "- " + nested[0].dropFirst(indent + 2)
                    lines += nested
                }
            }
        default:
            lines.append(padding + yamlScalar)
        }
    }

    /// Words that some YAML resolver (1.2 core, or 1.1 as PyYAML implements it) reads as null or
    /// a boolean.
    private static let yamlReservedWords: Set<String> = ["null", "true", "false", "yes", "no", "on", "off", "y", "n"]

    static func yamlString(_ text: String) -> String {
        isPlainYAMLSafe(text) ? text : yamlDoubleQuoted(text)
    }

    /// Plain only for a conservative alphabet that starts with a letter, `_` or `/`: no digit or
    /// sign first (numbers, dates, sexagesimals), no indicator (`-?:,[]{}#&*!|>'"%@\``), no `:`
    /// or `#` anywhere, no edge spaces, and not a reserved word.
    static func isPlainYAMLSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last, last != " " else { return false }
        guard ("a"..."z").contains(first) || ("A"..."Z").contains(first) || first == "_" || first == "/" else { return false }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", " ", "_", ".", "/", "(", ")", "-", ",", ";", "'", "+": continue
            default: return false
            }
        }
        return !yamlReservedWords.contains(text.lowercased())
    }

    /// A double-quoted scalar with JSON's escapes, plus `\u` escapes for what YAML does not allow
    /// raw (C0 and C1 controls, DEL, U+FFFE/U+FFFF) or reads as a line break (NEL, U+2028/2029),
    /// and for the byte order mark.
    static func yamlDoubleQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF: out += unicodeEscape(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
