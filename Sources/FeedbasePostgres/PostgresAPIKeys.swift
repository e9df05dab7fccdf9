// API keys at rest on PostgreSQL: `_feedbase_keys`, the twin of SQLite's table (APIKeyStore.swift
// there): the SHA-256 of each token, its role and subject, times in unix seconds. Its name starts
// with `_`, so it is never a collection and has no change-log triggers. Created under an
// advisory lock, so nodes starting together create it once.

import FeedbaseModel
import Logging
import PostgresNIO

public struct PostgresAPIKeys: Sendable {
    public let client: PostgresClient
    public var schema: String
    let logger: Logger

    public init(client: PostgresClient, schema: String = "public", logger: Logger) {
        self.client = client
        self.schema = schema
        self.logger = logger
    }

    /// `body` with the keys of the database at `url` (the table created when missing), on a
    /// client of its own that lives as long as `body`: for `feedbase keys`, beside running nodes.
    public static func with<Result: Sendable>(
        url: String, logger: Logger, _ body: @Sendable (PostgresAPIKeys) async throws -> Result
    ) async throws -> Result {
        var configuration = try PostgresURL.configuration(url)
        configuration.options.maximumConnections = 1
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let running = client.startRunning()
        let result: Swift.Result<Result, any Error>
        do {
            let keys = PostgresAPIKeys(client: client, logger: logger)
            try await keys.install()
            result = .success(try await body(keys))
        } catch {
            result = .failure(error)
        }
        running.cancel()
        await running.value
        return try result.get()
    }

    var table: String { PostgresSQL.identifier(schema) + "." + PostgresSQL.identifier("_feedbase_keys") }
    private static let columns = "id, hash, role, subject, created_at, expires_at, revoked_at"

    /// Creates the table when it is missing.
    public func install() async throws {
        let table = self.table, logger = self.logger
        try await run { connection in
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext('feedbase.keys'))", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: """
                    CREATE TABLE IF NOT EXISTS \(table) (
                        id text COLLATE "C" PRIMARY KEY,
                        hash text COLLATE "C" NOT NULL UNIQUE CHECK (char_length(hash) = 64),
                        role text COLLATE "C" NOT NULL CHECK (role <> ''),
                        subject text COLLATE "C",
                        created_at bigint NOT NULL,
                        expires_at bigint,
                        revoked_at bigint
                    )
                    """), logger: logger)
            }
        }
    }

    /// The keys neither revoked nor expired at `now`.
    public func active(now: Int64 = UnixTime.now()) async throws -> [StoredAPIKey] {
        var sql = PostgresBoundSQL()
        sql.text = "SELECT \(Self.columns) FROM \(table) WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > \(sql.bind(now)))"
        return try await keys(sql)
    }

    /// Every key, oldest first.
    public func all() async throws -> [StoredAPIKey] {
        var sql = PostgresBoundSQL()
        sql.text = "SELECT \(Self.columns) FROM \(table) ORDER BY created_at, id"
        return try await keys(sql)
    }

    /// Stores a new key for the token whose SHA-256 is `hash`.
    public func create(hash: String, role: String, subject: String?, expiresAt: Int64?, now: Int64 = UnixTime.now()) async throws -> StoredAPIKey {
        guard hash.utf8.count == 64, hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw StoreError(.invalid, "an API key's hash must be 64 lowercase hex digits")
        }
        guard !role.isEmpty else { throw StoreError(.invalid, "an API key's role must not be empty") }
        let key = StoredAPIKey(
            id: TimeOrderedIDGenerator().next(), hash: hash, role: role, subject: subject, createdAt: now, expiresAt: expiresAt, revokedAt: nil)
        var sql = PostgresBoundSQL()
        let values = [sql.bind(key.id), sql.bind(key.hash), sql.bind(key.role)]
        let subjectValue = if let subject { sql.bind(subject) } else { "NULL" }
        let created = sql.bind(now)
        let expires = if let expiresAt { sql.bind(expiresAt) } else { "NULL" }
        sql.text = "INSERT INTO \(table) (\(Self.columns)) VALUES (\(values.joined(separator: ", ")), \(subjectValue), \(created), \(expires), NULL)"
        _ = try await keys(sql, decode: false)
        return key
    }

    /// Whether the key existed and was active; it is not active afterwards.
    public func revoke(id: String, now: Int64 = UnixTime.now()) async throws -> Bool {
        var sql = PostgresBoundSQL()
        sql.text = "UPDATE \(table) SET revoked_at = \(sql.bind(now)) WHERE id = \(sql.bind(id)) AND revoked_at IS NULL "
            + "AND (expires_at IS NULL OR expires_at > \(sql.bind(now))) RETURNING \(Self.columns)"
        return try await !keys(sql).isEmpty
    }

    private func keys(_ sql: PostgresBoundSQL, decode: Bool = true) async throws -> [StoredAPIKey] {
        let query = sql.query, logger = self.logger
        return try await run { connection in
            var keys: [StoredAPIKey] = []
            let rows = try await connection.query(query, logger: logger)
            guard decode else {
                for try await _ in rows {}
                return keys
            }
            for try await (id, hash, role, subject, created, expires, revoked) in rows.decode((String, String, String, String?, Int64, Int64?, Int64?).self) {
                keys.append(StoredAPIKey(id: id, hash: hash, role: role, subject: subject, createdAt: created, expiresAt: expires, revokedAt: revoked))
            }
            return keys
        }
    }

    private func run<Result: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        do { return try await client.withLiveConnection(body) } catch { throw PostgresErrors.storeError(error) }
    }
}
