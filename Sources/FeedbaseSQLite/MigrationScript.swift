// A migration file cut into its statements, so that the migrator can keep the change-log
// triggers in place for the statements that write rows and rebuild them around those that
// change the schema. SQLite itself says where a statement ends (`sqlite3_complete` knows string
// literals, comments and trigger bodies).

import FeedbaseCSQLite
import FeedbaseModel

enum MigrationScript {
    /// The statements of `sql` in order, each with its semicolon; a last one without a
    /// semicolon is kept as it is.
    static func statements(of sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var statements: [String] = []
        var start = 0
        for index in bytes.indices where bytes[index] == UInt8(ascii: ";") && isComplete(bytes[start...index]) {
            statements.append(String(decoding: bytes[start...index], as: UTF8.self))
            start = index + 1
        }
        let rest = bytes[start...]
        if !rest.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) { statements.append(String(decoding: rest, as: UTF8.self)) }
        return statements
    }

    private static func isComplete(_ bytes: ArraySlice<UInt8>) -> Bool {
        let text = Array(bytes) + [0]
        return text.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { $0.withMemoryRebound(to: CChar.self, capacity: buffer.count) { sqlite3_complete($0) != 0 } } ?? false
        }
    }

    /// Whether the statement changes the schema (CREATE, ALTER or DROP, after any comments).
    static func changesSchema(_ statement: String) -> Bool {
        let keyword = firstWord(Array(statement.utf8)).uppercased()
        return keyword == "CREATE" || keyword == "ALTER" || keyword == "DROP"
    }

    /// The first word of a statement, past a byte order mark, white space and `--` and `/* */`
    /// comments.
    private static func firstWord(_ bytes: [UInt8]) -> String {
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while index < bytes.count {
            let byte = bytes[index]
            if [0x20, 0x09, 0x0A, 0x0D, 0x0C].contains(byte) {
                index += 1
            } else if byte == UInt8(ascii: "-"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "-") {
                while index < bytes.count && bytes[index] != 0x0A { index += 1 }
            } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "*") {
                index += 2
                while index + 1 < bytes.count && !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/")) { index += 1 }
                index += 2
            } else {
                break
            }
        }
        var end = index
        while end < bytes.count, (bytes[end] >= UInt8(ascii: "a") && bytes[end] <= UInt8(ascii: "z")) || (bytes[end] >= UInt8(ascii: "A") && bytes[end] <= UInt8(ascii: "Z")) {
            end += 1
        }
        return index < bytes.count ? String(decoding: bytes[index..<end], as: UTF8.self) : ""
    }
}
