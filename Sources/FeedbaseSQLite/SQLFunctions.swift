// SQL functions that SQLite lacks and row JSON needs, registered on every connection.

import FeedbaseCSQLite
import FeedbaseModel

enum SQLFunctions {
    /// `feedbase_base64(x)`: a BLOB as standard base64 text; any other value passes through, so a
    /// BLOB column holding text (SQLite allows it) still reads back.
    static let base64Name = "feedbase_base64"

    /// `feedbase_base64_of_hex(text)`: the base64 of the bytes that `hex()` wrote as `text` (the
    /// change log keeps BLOBs as hex, which plain SQL can make); NULL when `text` is not hex.
    static let base64OfHexName = "feedbase_base64_of_hex"

    static func register(on db: OpaquePointer) throws {
        let flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS
        func check(_ rc: Int32, _ name: String) throws {
            guard rc == SQLITE_OK else {
                throw StoreError.sqlite(code: rc, message: "cannot register \(name): " + String(cString: sqlite3_errmsg(db)))
            }
        }
        try check(sqlite3_create_function_v2(db, base64Name, 1, flags, nil, base64Function, nil, nil, nil), base64Name)
        try check(sqlite3_create_function_v2(db, base64OfHexName, 1, flags, nil, base64OfHexFunction, nil, nil, nil), base64OfHexName)
    }
}

private func resultText(_ context: OpaquePointer?, _ text: String) {
    var text = text
    text.withUTF8 { bytes in
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            sqlite3_result_text(context, "", 0, sqliteTransient)
            return
        }
        sqlite3_result_text64(context, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
            sqlite3_uint64(bytes.count), sqliteTransient, UInt8(SQLITE_UTF8))
    }
}

private func base64OfHexFunction(context: OpaquePointer?, argc: Int32, argv: UnsafeMutablePointer<OpaquePointer?>?) {
    guard argc == 1, let value = argv?[0], sqlite3_value_type(value) == SQLITE_TEXT, let text = sqlite3_value_text(value) else {
        sqlite3_result_null(context)
        return
    }
    let hex = UnsafeBufferPointer(start: text, count: Int(sqlite3_value_bytes(value)))
    guard hex.count % 2 == 0 else {
        sqlite3_result_null(context)
        return
    }
    func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(hex.count / 2)
    var index = 0
    while index < hex.count {
        guard let high = nibble(hex[index]), let low = nibble(hex[index + 1]) else {
            sqlite3_result_null(context)
            return
        }
        bytes.append(high << 4 | low)
        index += 2
    }
    resultText(context, Base64.encode(bytes))
}

private func base64Function(context: OpaquePointer?, argc: Int32, argv: UnsafeMutablePointer<OpaquePointer?>?) {
    guard argc == 1, let value = argv?[0] else {
        sqlite3_result_null(context)
        return
    }
    guard sqlite3_value_type(value) == SQLITE_BLOB else {
        sqlite3_result_value(context, value)
        return
    }
    let count = Int(sqlite3_value_bytes(value))
    resultText(context, Base64.encode(UnsafeRawBufferPointer(start: sqlite3_value_blob(value), count: count)))
}
