// A prepared statement: typed binding of parameters and typed reading of columns. Not Sendable;
// it belongs to its Connection's thread.

import FeedbaseCSQLite
import FeedbaseModel

final class Statement {
    let handle: OpaquePointer
    private unowned let connection: Connection
    private var finalized = false

    init(connection: Connection, sql: String) throws {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw connection.lastError() }
        self.handle = statement
        self.connection = connection
    }

    deinit { finalize() }

    func finalize() {
        guard !finalized else { return }
        finalized = true
        sqlite3_finalize(handle)
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ values: [SQLValue]) throws {
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
    }

    func bind(_ value: SQLValue, at index: Int32) throws {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .integer(let integer): rc = sqlite3_bind_int64(handle, index, integer)
        case .real(let real): rc = sqlite3_bind_double(handle, index, real)
        case .text(var text):
            rc = text.withUTF8 { bytes in bindUTF8(UnsafeRawBufferPointer(bytes), at: index) }
        case .blob(let bytes):
            rc = bytes.withUnsafeBytes { raw in
                // A zero-length blob must still be a blob, not NULL: SQLite treats a nil pointer as NULL.
                raw.count == 0
                    ? sqlite3_bind_zeroblob(handle, index, 0)
                    : sqlite3_bind_blob64(handle, index, raw.baseAddress, sqlite3_uint64(raw.count), sqliteTransient)
            }
        }
        guard rc == SQLITE_OK else { throw connection.lastError() }
    }

    /// Binds UTF-8 bytes as TEXT without making a String first (request bodies).
    func bindText(_ bytes: [UInt8], at index: Int32) throws {
        let rc = bytes.withUnsafeBytes { bindUTF8($0, at: index) }
        guard rc == SQLITE_OK else { throw connection.lastError() }
    }

    private func bindUTF8(_ bytes: UnsafeRawBufferPointer, at index: Int32) -> Int32 {
        // An empty buffer may have no address, which SQLite would bind as NULL, not as ''.
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            return sqlite3_bind_text(handle, index, "", 0, sqliteTransient)
        }
        return sqlite3_bind_text64(handle, index, base.assumingMemoryBound(to: CChar.self),
            sqlite3_uint64(bytes.count), sqliteTransient, UInt8(SQLITE_UTF8))
    }

    /// Advances to the next row: true when a row is ready, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.lastError()
        }
    }

    func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }

    func int64(_ index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

    func double(_ index: Int32) -> Double { sqlite3_column_double(handle, index) }

    /// The column as text (converting numbers as SQLite does), nil when NULL. Embedded NULs survive.
    func text(_ index: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, index) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The column's bytes as UTF-8 text (for JSON built by SQLite), without decoding to String.
    func textBytes(_ index: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_text(handle, index) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, index))
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// Appends the column's UTF-8 text to `bytes`, without an intermediate array.
    func appendText(_ index: Int32, to bytes: inout [UInt8]) {
        guard let pointer = sqlite3_column_text(handle, index) else { return }
        bytes.append(contentsOf: UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, index))))
    }

    func blob(_ index: Int32) -> [UInt8] {
        guard let pointer = sqlite3_column_blob(handle, index) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, index))
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func value(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: .integer(int64(index))
        case SQLITE_FLOAT: .real(double(index))
        case SQLITE_TEXT: .text(text(index) ?? "")
        case SQLITE_BLOB: .blob(blob(index))
        default: .null
        }
    }
}
