// SQL functions that SQLite lacks and row JSON needs, registered on every connection.

import FeedbaseCSQLite

enum SQLFunctions {
    /// `feedbase_base64(x)`: a BLOB as standard base64 text; any other value passes through, so a
    /// BLOB column holding text (SQLite allows it) still reads back.
    static let base64Name = "feedbase_base64"

    static func register(on db: OpaquePointer) throws {
        let flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS
        let rc = sqlite3_create_function_v2(db, base64Name, 1, flags, nil, base64Function, nil, nil, nil)
        guard rc == SQLITE_OK else {
            throw StoreError.sqlite(code: rc, message: "cannot register \(base64Name): " + String(cString: sqlite3_errmsg(db)))
        }
    }
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
    var encoded = Base64.encode(UnsafeRawBufferPointer(start: sqlite3_value_blob(value), count: count))
    encoded.withUTF8 { bytes in
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            sqlite3_result_text(context, "", 0, sqliteTransient)
            return
        }
        sqlite3_result_text64(context, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
            sqlite3_uint64(bytes.count), sqliteTransient, UInt8(SQLITE_UTF8))
    }
}
