// API keys at rest: the `_feedbase_keys` table, which holds only the SHA-256 of each token (the
// token itself is shown once, by `feedbase keys create`, and never stored). Its name starts with
// `_`, so it is never a collection and gets no change-log triggers (Introspector skips it).
//
// Times are unix seconds (INTEGER): compared in SQL and in memory without parsing, and the same
// unit as a JWT's `exp`. The `keys` commands run in their own process while a server may hold
// the file open, so they use one plain connection (`APIKeyFile`): WAL lets them write beside the
// server's readers, and the busy timeout makes them wait for its writer rather than fail.

import FeedbaseModel
import Foundation

/// The SQL of `_feedbase_keys`, shared by the server's connections and the CLI's.
enum APIKeyTable {
    static let name = "_feedbase_keys"

    static let schema = """
        CREATE TABLE IF NOT EXISTS _feedbase_keys (
            id TEXT PRIMARY KEY NOT NULL,
            hash TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
            role TEXT NOT NULL CHECK (role <> ''),
            subject TEXT,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            revoked_at INTEGER
        )
        """

    private static let columns = "id, hash, role, subject, created_at, expires_at, revoked_at"

    static func create(on connection: Connection) throws {
        try connection.execute(schema)
    }

    static func exists(on connection: Connection) throws -> Bool {
        try connection.scalarInt("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1", [.text(name)]) == 1
    }

    static func insert(_ key: StoredAPIKey, on connection: Connection) throws {
        guard key.hash.utf8.count == 64, key.hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw StoreError(.invalid, "an API key's hash must be 64 lowercase hex digits")
        }
        guard !key.role.isEmpty else { throw StoreError(.invalid, "an API key's role must not be empty") }
        try connection.run(
            "INSERT INTO _feedbase_keys (\(columns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            [.text(key.id), .text(key.hash), .text(key.role), key.subject.map { .text($0) } ?? .null,
             .integer(key.createdAt), key.expiresAt.map { .integer($0) } ?? .null, key.revokedAt.map { .integer($0) } ?? .null])
    }

    /// Every key, oldest first.
    static func all(on connection: Connection) throws -> [StoredAPIKey] {
        try connection.query("SELECT \(columns) FROM _feedbase_keys ORDER BY created_at, id", row: key)
    }

    static func active(at now: Int64, on connection: Connection) throws -> [StoredAPIKey] {
        try connection.query(
            "SELECT \(columns) FROM _feedbase_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?1)",
            [.integer(now)], row: key)
    }

    /// Whether the key existed and was active (it is revoked now either way).
    static func revoke(id: String, at now: Int64, on connection: Connection) throws -> Bool {
        try connection.run(
            "UPDATE _feedbase_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
            [.text(id), .integer(now)]) == 1
    }

    private static func key(_ row: Statement) -> StoredAPIKey {
        StoredAPIKey(
            id: row.text(0) ?? "", hash: row.text(1) ?? "", role: row.text(2) ?? "", subject: row.text(3),
            createdAt: row.int64(4), expiresAt: row.isNull(5) ? nil : row.int64(5), revokedAt: row.isNull(6) ? nil : row.int64(6))
    }
}

// MARK: The server's store: keys through the writer and the reader pool

extension SQLiteStore {
    /// Stores a new key for the token whose SHA-256 is `hash`; the store chooses its id.
    public func createAPIKey(hash: String, role: String, subject: String?, expiresAt: Int64?, now: Int64 = UnixTime.now()) async throws -> StoredAPIKey {
        let key = StoredAPIKey(id: ids.next(), hash: hash, role: role, subject: subject, createdAt: now, expiresAt: expiresAt, revokedAt: nil)
        try await database.write { connection in try APIKeyTable.insert(key, on: connection) }
        return key
    }

    /// Every key, revoked and expired ones included, oldest first.
    public func apiKeys() async throws -> [StoredAPIKey] {
        try await database.readStatement { connection in try APIKeyTable.all(on: connection) }
    }

    /// Whether the key existed and was active; it is not active afterwards.
    public func revokeAPIKey(id: String, now: Int64 = UnixTime.now()) async throws -> Bool {
        try await database.write { connection in try APIKeyTable.revoke(id: id, at: now, on: connection) }
    }

    /// The keys neither revoked nor expired: what the authenticator reloads every 250 ms, so one
    /// statement on a reader (its own snapshot, no transaction to begin and end).
    public func activeAPIKeys(now: Int64 = UnixTime.now()) async throws -> [StoredAPIKey] {
        try await database.readStatement { connection in try APIKeyTable.active(at: now, on: connection) }
    }
}

// MARK: The CLI: one connection, no threads, no migrations, no triggers touched

/// The keys of the database at `path`, for `feedbase keys`, which runs beside a server that may
/// have the file open. Opening `SQLiteStore` instead would re-create the change-log triggers
/// (a schema change under the running server) and start a thread pool for one statement.
public struct APIKeyFile: Sendable {
    public let path: String
    let options: ConnectionOptions

    public init(path: String, options: ConnectionOptions = ConnectionOptions()) {
        self.path = path
        self.options = options
    }

    /// Creates the database and the table if needed, then stores the key.
    public func create(hash: String, role: String, subject: String?, expiresAt: Int64?, now: Int64 = UnixTime.now()) throws -> StoredAPIKey {
        let connection = try Connection(path: path, options: options)
        let key = StoredAPIKey(
            id: TimeOrderedIDGenerator().next(), hash: hash, role: role, subject: subject, createdAt: now, expiresAt: expiresAt, revokedAt: nil)
        try whileBusy {
            try connection.transaction(.immediate) {
                try APIKeyTable.create(on: connection)
                try APIKeyTable.insert(key, on: connection)
            }
        }
        return key
    }

    /// Every key, oldest first; none when the table was never made. Reads only.
    public func all() throws -> [StoredAPIKey] {
        var readOnly = options
        readOnly.queryOnly = true
        let connection = try Connection(path: path, options: readOnly)
        return try connection.transaction(.deferred) {
            try APIKeyTable.exists(on: connection) ? APIKeyTable.all(on: connection) : []
        }
    }

    /// Whether the key existed and was active; it is not active afterwards.
    public func revoke(id: String, now: Int64 = UnixTime.now()) throws -> Bool {
        let connection = try Connection(path: path, options: options)
        return try whileBusy {
            try connection.transaction(.immediate) {
                try APIKeyTable.exists(on: connection) && APIKeyTable.revoke(id: id, at: now, on: connection)
            }
        }
    }

    /// Runs `body` again while SQLite answers SQLITE_BUSY at once, up to the busy timeout. The
    /// busy handler waits out a writer, but SQLite skips it in a few cases (a server's
    /// checkpoint restarting the WAL as the transaction begins): a command run beside a server
    /// then failed with "database is locked" within milliseconds.
    private func whileBusy<T>(_ body: () throws -> T) throws -> T {
        let deadline = ContinuousClock.now + .milliseconds(Int(options.busyTimeoutMilliseconds))
        while true {
            do {
                return try body()
            } catch let error as StoreError where error.sqliteCode.map({ $0 & 0xff == 5 }) == true && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
    }
}
