// `_feedbase_keys`: made by the server's store and by the CLI's single connection alike, never a
// collection, never logged to the feed; keys are created, listed, revoked, and only active
// ones (neither revoked nor expired) are loaded for authentication.

import Foundation
import Logging
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct APIKeyStoreTests {
    let directory: TemporaryDirectory
    let database: String

    init() throws {
        directory = try TemporaryDirectory()
        database = directory.file("app.sqlite")
    }

    func openStore() throws -> SQLiteStore {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let migrations = try directory.migrations(["0001_notes.sql": "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"])
        return try SQLiteStore(StoreConfiguration(path: database, migrationsDirectory: migrations, readers: 1), logger: logger)
    }

    static func hash(_ digit: Character) -> String { String(repeating: digit, count: 64) }

    @Test func theKeyTableIsNoCollectionAndHasNoTriggers() async throws {
        let store = try openStore()
        _ = try await store.createAPIKey(hash: Self.hash("a"), role: "user", subject: nil, expiresAt: nil)
        await store.close()
        let schema = try SQLiteStore.introspect(path: database)
        #expect(schema.collections.map(\.name) == ["notes"])
        #expect(schema.skipped.contains { $0.name == APIKeyTable.name })

        let connection = try Connection(path: database)
        #expect(try connection.scalarInt("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1", [.text(APIKeyTable.name)]) == 0)
        #expect(try connection.scalarInt("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'notes'") == 4)
        #expect(try connection.scalarInt("SELECT count(*) FROM _changes") == 0)
        #expect(try connection.scalarInt("SELECT count(*) FROM _feedbase_keys") == 1)
    }

    @Test func onlyKeysNeitherRevokedNorExpiredAreActive() async throws {
        let store = try openStore()
        let now: Int64 = 1_800_000_000
        let forever = try await store.createAPIKey(hash: Self.hash("a"), role: "admin", subject: "ops", expiresAt: nil, now: now)
        let later = try await store.createAPIKey(hash: Self.hash("b"), role: "user", subject: nil, expiresAt: now + 60, now: now)
        let expired = try await store.createAPIKey(hash: Self.hash("c"), role: "user", subject: nil, expiresAt: now - 1, now: now - 100)
        #expect(Set(try await store.activeAPIKeys(now: now).map(\.id)) == [forever.id, later.id])
        #expect(Set(try await store.activeAPIKeys(now: now + 60).map(\.id)) == [forever.id])

        #expect(try await store.revokeAPIKey(id: later.id, now: now))
        #expect(try await store.revokeAPIKey(id: later.id, now: now) == false)
        #expect(try await store.revokeAPIKey(id: expired.id, now: now) == false)
        #expect(try await store.revokeAPIKey(id: "no-such-key", now: now) == false)
        #expect(try await store.activeAPIKeys(now: now) == [forever])

        let all = try await store.apiKeys()
        #expect(all.map(\.id) == [expired.id, forever.id, later.id])
        #expect(all.first { $0.id == later.id }?.revokedAt == now)
        #expect(all.first { $0.id == forever.id } == forever)
        await store.close()
    }

    @Test func aHashThatIsNotLowercaseHexIsRefused() async throws {
        let store = try openStore()
        await #expect(throws: StoreError.self) { try await store.createAPIKey(hash: "ABC", role: "user", subject: nil, expiresAt: nil) }
        await #expect(throws: StoreError.self) { try await store.createAPIKey(hash: Self.hash("A"), role: "user", subject: nil, expiresAt: nil) }
        await #expect(throws: StoreError.self) { try await store.createAPIKey(hash: Self.hash("a"), role: "", subject: nil, expiresAt: nil) }
        await store.close()
    }

    @Test func theCLIFileMakesAFreshDatabaseAndReadsOneWithoutTheTable() throws {
        let fresh = APIKeyFile(path: directory.file("fresh.sqlite"))
        let key = try fresh.create(hash: Self.hash("d"), role: "user", subject: "alice", expiresAt: nil)
        #expect(try fresh.all() == [key])
        #expect(try fresh.revoke(id: key.id))
        #expect(try fresh.all().first?.revokedAt != nil)

        // A database that no server has opened yet (only migrated) has no table: no keys, and
        // listing does not create it.
        let migrated = directory.file("migrated.sqlite")
        try SQLiteStore.migrate(path: migrated, migrationsDirectory: directory.migrations(["0001_t.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY);"]))
        #expect(try APIKeyFile(path: migrated).all() == [])
        #expect(try APIKeyFile(path: migrated).revoke(id: "x") == false)
        #expect(try Connection(path: migrated).scalarInt("SELECT count(*) FROM sqlite_schema WHERE name = '_feedbase_keys'") == 0)
    }

    @Test func theCLIFileRevokesWhileTheServerHoldsTheDatabaseOpen() async throws {
        let store = try openStore()
        let key = try await store.createAPIKey(hash: Self.hash("e"), role: "user", subject: nil, expiresAt: nil)
        #expect(try await store.activeAPIKeys().count == 1)
        #expect(try APIKeyFile(path: database).revoke(id: key.id))
        #expect(try await store.activeAPIKeys().isEmpty)
        let second = try APIKeyFile(path: database).create(hash: Self.hash("f"), role: "user", subject: nil, expiresAt: nil)
        #expect(try await store.activeAPIKeys() == [second])
        await store.close()
    }
}
