// A reader of the documents' two spellings, for the tests that check they read back as the value
// written.

@testable import FeedbaseOpenAPI

/// Reads back what DocumentValue writes: JSON (RFC 8259), and the block YAML subset the emitter
/// produces (mappings, sequences, `[]`, `{}`, plain and double-quoted scalars), resolving plain
/// scalars the way YAML 1.2's core schema does.
struct DocumentReader {
    struct Failure: Error, CustomStringConvertible { var description: String }

    private let scalars: [Unicode.Scalar]
    private var index = 0

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    // MARK: JSON

    mutating func readJSON() throws -> DocumentValue {
        let value = try value()
        skipWhitespace()
        guard index == scalars.count else { throw Failure(description: "trailing text at \(index)") }
        return value
    }

    private mutating func skipWhitespace() {
        while index < scalars.count, [" ", "\n", "\r", "\t"].contains(scalars[index]) { index += 1 }
    }

    private mutating func expect(_ text: String) throws {
        for scalar in text.unicodeScalars {
            guard index < scalars.count, scalars[index] == scalar else { throw Failure(description: "expected \(text) at \(index)") }
            index += 1
        }
    }

    private mutating func value() throws -> DocumentValue {
        skipWhitespace()
        guard index < scalars.count else { throw Failure(description: "unexpected end") }
        switch scalars[index] {
        case "{":
            index += 1
            var members: [DocumentValue.Member] = []
            skipWhitespace()
            if scalars[index] == "}" {
                index += 1
                return .object([])
            }
            while true {
                skipWhitespace()
                let key = try string()
                skipWhitespace()
                try expect(":")
                members.append(DocumentValue.Member(key, try value()))
                skipWhitespace()
                if scalars[index] == "," { index += 1 } else { break }
            }
            try expect("}")
            return .object(members)
        case "[":
            index += 1
            var elements: [DocumentValue] = []
            skipWhitespace()
            if scalars[index] == "]" {
                index += 1
                return .array([])
            }
            while true {
                elements.append(try value())
                skipWhitespace()
                if scalars[index] == "," { index += 1 } else { break }
            }
            try expect("]")
            return .array(elements)
        case "\"":
            return .string(try string())
        case "t":
            try expect("true")
            return true
        case "f":
            try expect("false")
            return false
        case "n":
            try expect("null")
            return .null
        default:
            let start = index
            while index < scalars.count, "+-0123456789.eE".unicodeScalars.contains(scalars[index]) { index += 1 }
            return try Self.number(String(String.UnicodeScalarView(scalars[start..<index])))
        }
    }

    private static func number(_ text: String) throws -> DocumentValue {
        if let integer = Int64(text) { return .integer(integer) }
        guard let number = Double(text) else { throw Failure(description: "not a number: \(text)") }
        return .number(number)
    }

    /// A double-quoted string with JSON's escapes (YAML's double-quoted style is a superset).
    private mutating func string() throws -> String {
        try expect("\"")
        var out = String.UnicodeScalarView()
        while index < scalars.count, scalars[index] != "\"" {
            if scalars[index] == "\\" {
                index += 1
                let escape = scalars[index]
                index += 1
                switch escape {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "b": out.append("\u{8}")
                case "f": out.append("\u{C}")
                case "u":
                    let hex = String(String.UnicodeScalarView(scalars[index..<index + 4]))
                    index += 4
                    guard let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                        throw Failure(description: "bad escape \(hex)")
                    }
                    out.append(scalar)
                default: out.append(escape)
                }
            } else {
                out.append(scalars[index])
                index += 1
            }
        }
        try expect("\"")
        return String(out)
    }

    // MARK: YAML

    static func readYAML(_ text: String) throws -> DocumentValue {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        lines.reverse()  // a stack: the next line is last
        let indent = lines.last.map(Self.indentation) ?? 0
        let value = try block(&lines, indent: indent)
        guard lines.isEmpty else { throw Failure(description: "unread lines: \(lines.reversed().prefix(3))") }
        return value
    }

    private static func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }

    /// The block (mapping or sequence) whose entries start at `indent`.
    private static func block(_ lines: inout [String], indent: Int) throws -> DocumentValue {
        guard let first = lines.last else { return .null }
        let body = first.dropFirst(indent)
        if body.hasPrefix("- ") || body == "-" {
            var elements: [DocumentValue] = []
            while let line = lines.last, indentation(line) == indent, line.dropFirst(indent).hasPrefix("- ") {
                lines.removeLast()
                let rest = String(line.dropFirst(indent + 2))
                if rest.hasPrefix("- ") || splitKey(rest) != nil {
                    // A nested block begins on the dash's line: re-read it at the deeper indent.
                    lines.append(String(repeating: " ", count: indent + 2) + rest)
                    elements.append(try block(&lines, indent: indent + 2))
                } else {
                    elements.append(try scalar(rest))
                }
            }
            return .array(elements)
        }
        var members: [DocumentValue.Member] = []
        while let line = lines.last, indentation(line) == indent, !line.dropFirst(indent).hasPrefix("- ") {
            lines.removeLast()
            guard let (key, rest) = splitKey(String(line.dropFirst(indent))) else { throw Failure(description: "not a mapping entry: \(line)") }
            if rest.isEmpty {
                guard let next = lines.last, indentation(next) > indent else { throw Failure(description: "empty value for \(key)") }
                members.append(DocumentValue.Member(key, try block(&lines, indent: indentation(next))))
            } else {
                members.append(DocumentValue.Member(key, try scalar(rest)))
            }
        }
        return .object(members)
    }

    /// `key: rest` or `key:` with a plain or double-quoted key.
    private static func splitKey(_ text: String) -> (String, String)? {
        if text.hasPrefix("\"") {
            var reader = DocumentReader(text)
            guard let key = try? reader.string() else { return nil }
            let rest = String(String.UnicodeScalarView(reader.scalars[reader.index...]))
            if rest == ":" { return (key, "") }
            guard rest.hasPrefix(": ") else { return nil }
            return (key, String(rest.dropFirst(2)))
        }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let rest = text[text.index(after: colon)...]
        guard rest.isEmpty || rest.hasPrefix(" ") else { return nil }
        return (String(text[..<colon]), String(rest.dropFirst()))
    }

    private static func scalar(_ text: String) throws -> DocumentValue {
        switch text {
        case "[]": return .array([])
        case "{}": return .object([])
        case "null": return .null
        case "true": return true
        case "false": return false
        default: break
        }
        if text.hasPrefix("\"") {
            var reader = DocumentReader(text)
            let value = try reader.string()
            guard reader.index == reader.scalars.count else { throw Failure(description: "text after a quoted scalar: \(text)") }
            return .string(value)
        }
        if let first = text.unicodeScalars.first, "+-0123456789.".unicodeScalars.contains(first) { return try number(text) }
        return .string(text)
    }
}
