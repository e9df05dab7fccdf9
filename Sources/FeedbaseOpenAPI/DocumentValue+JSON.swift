// DocumentValue as pretty-printed JSON (RFC 8259), byte for byte the same for the same value.

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
    static func unicodeEscape(_ value: UInt32) -> String {
        let digits = Array("0123456789ABCDEF")
        return "\\u" + String((0..<4).map { digits[Int(value >> UInt32(12 - $0 * 4) & 15)] })
    }

    /// The text of a scalar; numbers always carry a fraction or an exponent with a dot before
    /// it (`1.0e+20`), so YAML 1.1 parsers read them back as floats too.
    var scalarText: String {
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
