// Applies the SQL files of a migrations directory in numeric order, each in its own transaction,
// and keeps their names and SHA-256 checksums in `_migrations` so that history cannot drift.

import FeedbaseModel

public enum Migrator {
    static let historyTable = "_migrations"

    /// The files of `directory` (MigrationDirectory, shared with the PostgreSQL migrator).
    public static func files(in directory: String) throws -> [MigrationFile] {
        try MigrationDirectory.files(in: directory)
    }

    static func number(of name: String) -> Int? { MigrationDirectory.number(of: name) }

    /// Applied and pending migrations, after checking that history and files agree.
    static func status(of files: [MigrationFile], on connection: Connection) throws -> [MigrationStatus] {
        let applied = try verifiedHistory(of: files, on: connection)
        return files.map { file in
            if let appliedAt = applied[file.name] {
                MigrationStatus(name: file.name, state: .applied, appliedAt: appliedAt)
            } else {
                MigrationStatus(name: file.name, state: .pending, appliedAt: nil)
            }
        }
    }

    /// Applies every pending file, each in its own transaction; returns the names applied.
    /// A failing file is rolled back completely and stops the run, naming the file.
    ///
    /// A database that no server has opened yet gets the change log and its triggers first, so
    /// that rows other programs write between `feedbase migrate` and the first `serve` have
    /// events. When the database has the triggers (the feed is on), a file's row changes are
    /// logged like any write: its statements run one by one under the triggers, and around each
    /// statement that changes the schema (CREATE, ALTER, DROP) the triggers are dropped and made
    /// anew for the schema it leaves, so a migration may drop, rename or rebuild anything they
    /// name, and rows it writes to a table it has just created or altered are logged whole.
    /// Events of a table the file leaves behind unserved (the copy of a 12-step rebuild, renamed
    /// into place) are removed before the file commits: no client can hold those rows.
    /// Foreign keys are not enforced while a file runs (SQLite's 12-step table rebuild drops a
    /// table that others reference; with enforcement on, that would delete their rows by ON
    /// DELETE CASCADE) and are checked as a whole before it commits.
    @discardableResult
    static func migrate(_ files: [MigrationFile], on connection: Connection) throws -> [String] {
        let applied = try verifiedHistory(of: files, on: connection)
        if try !ChangeLog.exists(on: connection) {
            try ChangeLog.install(Introspector.schema(of: connection).collections, enabled: true, on: connection)
        }
        let pending = files.filter { applied[$0.name] == nil }
        guard !pending.isEmpty else { return [] }
        // PRAGMA foreign_keys is a no-op inside a transaction: set it around them.
        try connection.execute("PRAGMA foreign_keys=OFF")
        defer { try? connection.execute("PRAGMA foreign_keys=ON") }
        var names: [String] = []
        for file in pending {
            do {
                try connection.transaction(.immediate) {
                    let danglingBefore = try danglingReferences(on: connection).count
                    // The feed is on when the triggers are there, or when there is nothing
                    // yet for them to watch (the first migration of a new database).
                    if try ChangeLog.hasTriggers(on: connection) || Introspector.schema(of: connection).collections.isEmpty {
                        try runLogged(file.sql, on: connection)
                    } else {
                        try connection.execute(file.sql)
                    }
                    try connection.run(
                        "INSERT INTO \(historyTable) (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                        [.integer(Int64(file.number)), .text(file.name), .text(file.checksum)])
                    let dangling = try danglingReferences(on: connection)
                    if dangling.count > danglingBefore, let first = dangling.first {
                        throw StoreError(.migration, "it leaves \(dangling.count - danglingBefore) more row(s) referencing a missing "
                            + "parent (such as \(first.table) rowid \(first.rowid), referencing \(first.parent))")
                    }
                }
            } catch let error as StoreError {
                throw StoreError(.migration, "migration \(file.name) failed and was rolled back: \(error.message)", sqliteCode: error.sqliteCode)
            }
            names.append(file.name)
        }
        return names
    }

    /// Runs a file's statements one by one under the change-log triggers, rebuilding them
    /// around each schema change (see `migrate`).
    private static func runLogged(_ sql: String, on connection: Connection) throws {
        let head = try ChangeLog.head(on: connection)
        func rebuildTriggers() throws -> [CollectionSchema] {
            let collections = try Introspector.schema(of: connection).collections
            try ChangeLog.dropTriggers(on: connection)
            try ChangeLog.createTriggers(collections, on: connection)
            return collections
        }
        // For the schema as it is: triggers made by an earlier version are brought up to date.
        var collections = try rebuildTriggers()
        for statement in MigrationScript.statements(of: sql) {
            guard MigrationScript.changesSchema(statement) else {
                try connection.execute(statement)
                continue
            }
            try ChangeLog.dropTriggers(on: connection)
            try connection.execute(statement)
            collections = try rebuildTriggers()
        }
        let served = collections.map(\.name)
        try connection.run(
            "DELETE FROM _changes WHERE seq > ?1 AND collection NOT IN (SELECT value FROM json_each(?2))",
            [.integer(head), .text(JSONText.array(served.map(JSONText.quote)))])
    }

    /// The rows whose foreign key names a missing parent. Checked as a count before and after a
    /// file, so that rows another program left dangling do not block every later migration.
    private static func danglingReferences(on connection: Connection) throws -> [(table: String, rowid: Int64, parent: String)] {
        try connection.query("PRAGMA foreign_key_check") { (table: $0.text(0) ?? "", rowid: $0.int64(1), parent: $0.text(2) ?? "") }
    }

    /// Creates the history table if needed and checks it against the files: every applied file
    /// must still exist, unchanged.
    private static func verifiedHistory(of files: [MigrationFile], on connection: Connection) throws -> [String: String] {
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS \(historyTable) (
                version INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                checksum TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """)
        let history = try connection.query("SELECT name, checksum, applied_at FROM \(historyTable) ORDER BY version") {
            (name: $0.text(0) ?? "", checksum: $0.text(1) ?? "", appliedAt: $0.text(2) ?? "")
        }
        return try MigrationDirectory.verify(history: history, against: files)
    }
}
