// SQLite's failures classified into the store's error kinds (FeedbaseModel/StoreError.swift).

import FeedbaseModel

/// SQLite's result codes that the classification needs; the C macros built with `|` and `<<`
/// are not all importable, so they are spelled out here.
enum SQLiteCode {
    static let perm: Int32 = 3
    static let busy: Int32 = 5
    static let locked: Int32 = 6
    static let readonly: Int32 = 8
    static let ioerr: Int32 = 10
    static let corrupt: Int32 = 11
    static let full: Int32 = 13
    static let cantopen: Int32 = 14
    static let constraint: Int32 = 19
    static let mismatch: Int32 = 20
    static let notadb: Int32 = 26

    static let constraintCheck: Int32 = constraint | (1 << 8)
    static let constraintForeignKey: Int32 = constraint | (3 << 8)
    static let constraintNotNull: Int32 = constraint | (5 << 8)
    static let constraintPrimaryKey: Int32 = constraint | (6 << 8)
    static let constraintTrigger: Int32 = constraint | (7 << 8)
    static let constraintUnique: Int32 = constraint | (8 << 8)
    static let constraintRowID: Int32 = constraint | (10 << 8)
    static let constraintDatatype: Int32 = constraint | (12 << 8)
}

extension StoreError {
    /// Classifies a SQLite failure by its extended result code.
    static func sqlite(code: Int32, message: String) -> StoreError {
        let primary = code & 0xff
        let kind: StoreErrorKind
        switch code {
        case SQLiteCode.constraintPrimaryKey, SQLiteCode.constraintUnique, SQLiteCode.constraintRowID:
            kind = .conflict
        case SQLiteCode.constraintForeignKey:
            kind = .foreignKey
        case SQLiteCode.constraintNotNull, SQLiteCode.constraintCheck, SQLiteCode.constraintDatatype,
            SQLiteCode.constraintTrigger:
            kind = .constraint
        default:
            switch primary {
            case SQLiteCode.constraint, SQLiteCode.mismatch: kind = .constraint
            case SQLiteCode.busy, SQLiteCode.locked: kind = .busy
            case SQLiteCode.full: kind = .full
            case SQLiteCode.ioerr, SQLiteCode.cantopen, SQLiteCode.readonly, SQLiteCode.perm: kind = .unavailable
            case SQLiteCode.corrupt, SQLiteCode.notadb: kind = .storage
            default: kind = .internal
            }
        }
        return StoreError(kind, message, sqliteCode: code, columns: constraintColumns(message))
    }

    /// `NOT NULL constraint failed: tasks.title` and `UNIQUE constraint failed: t.a, t.b` name
    /// their columns after the colon as `table.column`; CHECK failures name a constraint instead.
    private static func constraintColumns(_ message: String) -> [String] {
        guard message.contains("constraint failed: "),
            !message.hasPrefix("CHECK"),
            let colon = message.range(of: "constraint failed: ")
        else { return [] }
        return message[colon.upperBound...].split(separator: ",").compactMap { part in
            let trimmed = part.trimmingCharacters(in: " ")
            guard let dot = trimmed.lastIndex(of: ".") else { return nil }
            return String(trimmed[trimmed.index(after: dot)...])
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var slice = self
        while slice.first == character { slice = slice.dropFirst() }
        while slice.last == character { slice = slice.dropLast() }
        return slice
    }
}
