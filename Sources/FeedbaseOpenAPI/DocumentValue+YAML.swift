// DocumentValue as block-style YAML that reads back as the same JSON under YAML 1.2 and under
// YAML 1.1 parsers (PyYAML): strings are plain only where no resolver could read them as anything
// else.

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
