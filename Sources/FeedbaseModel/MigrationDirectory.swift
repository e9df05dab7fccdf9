// A migrations directory as every engine's migrator reads it: `NNNN_description.sql` files,
// numbered 1, 2, 3, ... with no gap, each with its SHA-256. No database here: the SQLite and the
// PostgreSQL migrators apply what this reads, each in its own dialect's folder.

import Foundation

public enum MigrationDirectory {
    /// Reads and checks the names of every `*.sql` file in `directory`: each must be
    /// `NNNN_description.sql`, numbered 1, 2, 3, ... with no gap and no duplicate. Folders in it
    /// (`migrations/postgres/`) are not files of it.
    public static func files(in directory: String) throws -> [MigrationFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError(.migration, "migrations directory \(directory) does not exist")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw StoreError(.migration, "cannot read migrations directory \(directory)")
        }
        var files: [MigrationFile] = []
        for name in names where name.hasSuffix(".sql") && !name.hasPrefix(".") {
            guard let number = number(of: name) else {
                throw StoreError(.migration, "migration file \(name) is not named NNNN_description.sql")
            }
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw StoreError(.migration, "cannot read migration file \(name)")
            }
            let bytes = [UInt8](data)
            guard let sql = String(validating: bytes, as: UTF8.self) else {
                throw StoreError(.migration, "migration file \(name) is not UTF-8 text")
            }
            files.append(MigrationFile(number: number, name: name, sql: sql, checksum: Checksum.sha256(bytes)))
        }
        files.sort { ($0.number, $0.name) < ($1.number, $1.name) }
        for (offset, file) in files.enumerated() {
            if offset > 0, files[offset - 1].number == file.number {
                throw StoreError(.migration, "migration files \(files[offset - 1].name) and \(file.name) have the same number")
            }
            if file.number != offset + 1 {
                let expected = String(repeating: "0", count: max(0, 4 - String(offset + 1).count)) + String(offset + 1)
                throw StoreError(.migration, "migration file \(file.name) is out of sequence: expected number \(expected) (numbering starts at 0001, with no gaps)")
            }
        }
        return files
    }

    /// `0012_add_tags.sql` → 12; nil when the name does not have that shape.
    public static func number(of name: String) -> Int? {
        let stem = name.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_") else { return nil }
        let digits = stem[..<underscore]
        let description = stem[stem.index(after: underscore)...]
        guard digits.count >= 4, digits.allSatisfy({ $0.isASCII && $0.isNumber }), !description.isEmpty else { return nil }
        return Int(digits)
    }

    /// Checks a database's history (name, checksum, applied_at per applied file) against the
    /// files: every applied file must still exist, unchanged. Returns applied_at by name.
    public static func verify(history: [(name: String, checksum: String, appliedAt: String)], against files: [MigrationFile]) throws -> [String: String] {
        let byName = Dictionary(files.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var applied: [String: String] = [:]
        for entry in history {
            guard let file = byName[entry.name] else {
                throw StoreError(.migration, "migration \(entry.name) was applied to this database but its file is missing from the migrations directory")
            }
            guard file.checksum == entry.checksum else {
                throw StoreError(.migration, "migration \(entry.name) was changed after it was applied (SHA-256 \(entry.checksum.prefix(12))… recorded, \(file.checksum.prefix(12))… on disk); add a new migration instead")
            }
            applied[entry.name] = entry.appliedAt
        }
        return applied
    }

    /// Applied and pending migrations, from a verified history.
    public static func status(of files: [MigrationFile], applied: [String: String]) -> [MigrationStatus] {
        files.map { file in
            if let appliedAt = applied[file.name] {
                MigrationStatus(name: file.name, state: .applied, appliedAt: appliedAt)
            } else {
                MigrationStatus(name: file.name, state: .pending, appliedAt: nil)
            }
        }
    }
}
