// The way request bodies were read before JSONBody: SQLite's own JSON functions on a connection
// (json_valid, json_type, json_each, json_tree). Kept here only as the oracle the Swift reader is
// held equal to.

import FeedbaseModel
@testable import FeedbaseSQLite

struct SQLiteBodyOracle {
    let connection: Connection

    init() throws {
        connection = try Connection(path: ":memory:")
    }

    func topLevelType(of body: [UInt8]) throws -> String {
        guard !body.contains(0), String(validating: body, as: UTF8.self) != nil else {
            throw StoreError.malformed("the request body is not valid UTF-8 JSON")
        }
        let type = try connection.withStatement("SELECT CASE WHEN json_valid(?1) THEN json_type(?1) END") { statement in
            try statement.bindText(body, at: 1)
            return try statement.step() ? statement.text(0) : nil
        }
        guard let type else { throw StoreError.malformed("the request body is not valid JSON") }
        if let pointer = Self.escapedNULPointer(body) {
            throw StoreError.invalid([Violation(pointer: pointer, detail: "strings containing \\u0000 cannot be stored")])
        }
        return type
    }

    /// The scan for escaped NULs as it was (RequestBody's now also finds lone surrogates).
    static func escapedNULPointer(_ body: [UInt8]) -> String? {
        enum Container {
            case object(key: String?)
            case array(index: Int)
        }
        var path: [Container] = []
        func pointer() -> String {
            path.reduce("") { prefix, container in
                switch container {
                case .object(let key): key.map { RequestBody.pointer(prefix, $0) } ?? prefix
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
                let (text, end, hasNUL) = decodeString(body, from: index)
                // In an object, a string followed by `:` is a key.
                var next = end
                while next < body.count, [0x20, 0x09, 0x0A, 0x0D].contains(body[next]) { next += 1 }
                let isKey = next < body.count && body[next] == UInt8(ascii: ":")
                if isKey, case .object? = path.last { path[path.count - 1] = .object(key: text) }
                if hasNUL { return pointer() }
                index = end
                continue
            default: break
            }
            index += 1
        }
        return nil
    }

    /// The string starting at the quote at `start`: its decoded text, the index after its
    /// closing quote, and whether it holds an escaped NUL.
    private static func decodeString(_ body: [UInt8], from start: Int) -> (String, Int, Bool) {
        var bytes: [UInt8] = []
        var hasNUL = false
        var index = start + 1
        var pendingHighSurrogate: UInt32?
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
            if unit == 0 { hasNUL = true }
            if let high = pendingHighSurrogate, (0xDC00...0xDFFF).contains(unit) {
                append(0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00))
                pendingHighSurrogate = nil
            } else if (0xD800...0xDBFF).contains(unit) {
                pendingHighSurrogate = unit
            } else {
                append(unit)
            }
        }
        return (String(decoding: bytes, as: UTF8.self), min(index + 1, body.count), hasNUL)
    }

    func members(of body: [UInt8]) throws -> [BodyField] {
        let sql = """
            SELECT key, type, atom, CASE type WHEN 'object' THEN value WHEN 'array' THEN value \
            WHEN 'text' THEN json_quote(value) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
            WHEN 'null' THEN 'null' ELSE CASE WHEN typeof(atom) != 'real' THEN CAST(atom AS TEXT) \
            WHEN atom IN (1e999, -1e999) THEN 'null' ELSE \(RowJSON.realText("atom")) END END, \
            CASE WHEN type IN ('integer', 'real') THEN atom IN (1e999, -1e999) \
            WHEN type IN ('array', 'object') THEN EXISTS (SELECT 1 FROM json_tree(member.value) AS node \
            WHERE node.type IN ('integer', 'real') AND node.atom IN (1e999, -1e999)) ELSE 0 END \
            FROM json_each(?1) AS member
            """
        return try connection.withStatement(sql) { statement in
            try statement.bindText(body, at: 1)
            var fields: [BodyField] = []
            while try statement.step() {
                fields.append(BodyField(
                    key: statement.text(0) ?? "", type: statement.text(1) ?? "null",
                    atom: statement.value(2), json: statement.text(3) ?? "null", hasNonFiniteNumber: statement.int64(4) != 0))
            }
            return fields
        }
    }

    /// RowJSON.realText of a double, as SQLite computes it.
    func realText(_ value: Double) throws -> String? {
        try connection.withStatement("SELECT \(RowJSON.realText("?1"))") { statement in
            try statement.bind(.real(value), at: 1)
            return try statement.step() ? statement.text(0) : nil
        }
    }
}

/// Two readings of one body agree: the same error, or the same type and the same fields.
enum BodyReading: Equatable, CustomStringConvertible {
    case failure(kind: String, message: String, violations: [Violation])
    case success(type: String, fields: [Field])

    struct Field: Equatable, CustomStringConvertible {
        var key: String
        var type: String
        var atom: String
        var json: String
        var hasNonFiniteNumber: Bool

        init(_ field: BodyField) {
            key = field.key
            type = field.type
            // Doubles by their bits: -0.0 is not 0.0 here.
            atom =
                switch field.atom {
                case .real(let real): "real(\(real.bitPattern))"
                default: "\(field.atom)"
                }
            json = field.json
            hasNonFiniteNumber = field.hasNonFiniteNumber
        }

        var description: String { "\(key.debugDescription): \(type) \(atom) \(json.debugDescription)\(hasNonFiniteNumber ? " non-finite" : "")" }
    }

    init(_ read: () throws -> (String, [BodyField])) {
        do {
            let (type, fields) = try read()
            self = .success(type: type, fields: fields.map(Field.init))
        } catch let error as StoreError {
            self = .failure(kind: "\(error.kind)", message: error.message, violations: error.violations)
        } catch {
            self = .failure(kind: "unexpected", message: "\(error)", violations: [])
        }
    }

    /// The description cut for a failure message (a deep body's is megabytes).
    var short: String { String(description.prefix(1500)) }

    var description: String {
        switch self {
        case .failure(let kind, let message, let violations): "\(kind): \(message) \(violations)"
        case .success(let type, let fields): "\(type) [\(fields.map(\.description).joined(separator: ", "))]"
        }
    }
}
