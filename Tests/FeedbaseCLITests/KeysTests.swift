// `feedbase keys` as a user runs it: create prints the token alone on standard output, list
// shows a table or JSON, revoke takes an id, and revoking works on a database that a server
// holds open (WAL) or has locked for a moment (the busy timeout waits), after which that
// server's authenticator refuses the key on its next reload.

import FeedbaseAuth
import FeedbaseTestSupport
import Foundation
import Logging
import Testing

@testable import FeedbaseCLI
import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct KeysTests {
    func create(_ arguments: [String], in workspace: Workspace) async throws -> (token: String, id: String) {
        let result = try await run(["keys", "create"] + arguments, in: workspace.path)
        #expect(result.status == 0, "\(result.stderr)")
        let token = String(result.stdout.dropLast())
        #expect(result.stdout == token + "\n")
        #expect(token.hasPrefix("fbk_") && token.count == 47)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("shown this once"))
        let id = try #require(result.stderr.split(separator: " ").dropFirst(4).first.map(String.init))
        return (token, id)
    }

    @Test func createListAndRevoke() async throws {
        let workspace = try Workspace()
        let empty = try await run(["keys", "list"], in: workspace.path)
        expectOneErrorLine(empty, containing: "no database at feedbase.sqlite")
        try workspace.copyMigrations()
        #expect(try await run(["migrate"], in: workspace.path).status == 0)

        let user = try await create(["--role", "user", "--subject", "alice", "--expires", "30d"], in: workspace)
        let admin = try await create(["--role", "admin"], in: workspace)
        #expect(user.token != admin.token)

        let table = try await run(["keys", "list"], in: workspace.path)
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("ID ") && lines[0].hasSuffix("REVOKED"))
        #expect(lines[1].hasPrefix(user.id) && lines[1].contains(" user ") && lines[1].contains(" alice ") && lines[1].hasSuffix(" -"))
        #expect(lines[2].hasPrefix(admin.id) && lines[2].contains(" never "))
        #expect(!table.stdout.contains(user.token) && !table.stdout.contains(APIKeyToken.hash(user.token)))

        let revoked = try await run(["keys", "revoke", user.id], in: workspace.path)
        #expect(revoked.status == 0 && revoked.stdout == "revoked API key \(user.id)\n")
        let again = try await run(["keys", "revoke", user.id], in: workspace.path)
        #expect(again.status == 0 && again.stderr.contains("was already revoked at"))
        expectOneErrorLine(try await run(["keys", "revoke", "no-such-id"], in: workspace.path), containing: "no API key with id no-such-id")

        let json = try await run(["keys", "list", "--json"], in: workspace.path)
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(keys.map { $0["id"] as? String } == [user.id, admin.id])
        #expect(keys[0]["subject"] as? String == "alice" && keys[0]["revoked_at"] is String && keys[0]["expires_at"] is String)
        #expect(keys[1]["subject"] is NSNull && keys[1]["revoked_at"] is NSNull && keys[1]["expires_at"] is NSNull)
        #expect(Set(keys[0].keys) == ["id", "role", "subject", "created_at", "expires_at", "revoked_at"])
    }

    @Test func badArgumentsAreOneErrorLine() async throws {
        let workspace = try Workspace()
        expectOneErrorLine(try await run(["keys", "create", "--role", " "], in: workspace.path), containing: "--role must not be empty")
        expectOneErrorLine(try await run(["keys", "create", "--role", "u", "--expires", "soon"], in: workspace.path), containing: "--expires must be a duration")
        expectOneErrorLine(try await run(["keys", "create", "--role", "u", "--expires", "2001-01-01T00:00:00Z"], in: workspace.path), containing: "is in the past")
        #expect(!FileManager.default.fileExists(atPath: workspace.file("feedbase.sqlite")))
        try Data(repeating: 0x42, count: 8192).write(to: URL(fileURLWithPath: workspace.file("garbage.sqlite")))
        expectOneErrorLine(try await run(["keys", "list", "--db", "garbage.sqlite"], in: workspace.path), containing: "garbage.sqlite")
    }

    @Test func expiriesAreDurationsOrDateTimes() throws {
        #expect(try KeyExpiry.parse("30d", now: 1_000) == 1_000 + 30 * 86_400)
        #expect(try KeyExpiry.parse("12h", now: 0) == 43_200)
        #expect(try KeyExpiry.parse("2w", now: 0) == 1_209_600)
        #expect(try KeyExpiry.parse("2030-01-31T12:00:00Z", now: 0) == 1_896_091_200)
        #expect(try KeyExpiry.parse("2030-01-31T13:00:00.5+01:00", now: 0) == 1_896_091_200)
        for bad in ["0d", "+5d", "-5d", "d", "5y", "5 d", "2030-01-31", "99999999999999999d"] {
            #expect(throws: CLIError.self, "\(bad)") { try KeyExpiry.parse(bad, now: 0) }
        }
    }

    @Test func revokingWhileAServerHoldsTheDatabaseTakesEffectOnItsNextReload() async throws {
        let workspace = try Workspace()
        var logger = Logger(label: "keys-test")
        logger.logLevel = .critical
        let store = try SQLiteStore(
            StoreConfiguration(path: workspace.file("feedbase.sqlite"), migrationsDirectory: shippedMigrations, readers: 1), logger: logger)
        let auth = Authenticator(configuration: AuthConfiguration(), loadKeys: { try await store.activeAPIKeys() }, logger: logger)

        let key = try await create(["--role", "user"], in: workspace)
        #expect(await auth.refreshKeys())
        #expect(await auth.authenticate(authorization: "Bearer \(key.token)").identity?.credential == .apiKey(id: key.id))

        // Another connection holds the write lock for a moment: the command waits for it.
        let blocker = try Connection(path: workspace.file("feedbase.sqlite"))
        try blocker.execute("BEGIN IMMEDIATE")
        let revoking = try ChildProcess(try feedbaseBinary().path, ["keys", "revoke", key.id], directory: workspace.path,
                                        environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FEEDBASE_") })
        // Held and released by a thread of its own: the command's 5 s busy timeout must not hinge
        // on this task being scheduled again on a loaded machine (it was not, in CI's first pass).
        nonisolated(unsafe) let holder = blocker
        let (waiting, committed) = await withCheckedContinuation { (continuation: CheckedContinuation<(Bool, Bool), Never>) in
            Thread {
                Thread.sleep(forTimeInterval: 0.3)
                let waiting = revoking.isRunning
                let committed = (try? holder.execute("COMMIT")) != nil
                continuation.resume(returning: (waiting, committed))
            }.start()
        }
        #expect(waiting)
        #expect(committed)
        #expect(try await revoking.exitStatus(timeout: .seconds(30)) == 0, "\(revoking.stderr)")

        #expect(await auth.refreshKeys())
        #expect(await auth.authenticate(authorization: "Bearer \(key.token)") == .failure(.invalidToken("unknown or revoked API key")))
        await store.close()
    }
}

extension Result where Success == Identity, Failure == AuthFailure {
    var identity: Identity? { try? get() }
}
