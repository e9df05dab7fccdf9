// The engines the system tier runs on, and what a test says per engine beside the API: its own
// schema, and the SQL "another program" runs. A socket test takes `Engine.available` as
// arguments, so both engines run in one `swift test`, in parallel. Where PostgreSQL's server
// programs are missing there are no PostgreSQL cases, and `PostgresSystemTier` is reported
// skipped with the reason: never a silent pass (docs/TESTING.md).

import FeedbasePostgres
import FeedbaseTestSupport
import Foundation
import Testing

enum Engine: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The engines this machine can run: PostgreSQL where PostgresCluster can start it.
    /// FEEDBASE_TEST_ENGINES (`sqlite`, `postgres` or both, comma-separated) narrows it, to
    /// measure or chase one engine.
    static let available: [Engine] = {
        let runnable: [Engine] = PostgresCluster.isAvailable ? [.sqlite, .postgres] : [.sqlite]
        guard let chosen = ProcessInfo.processInfo.environment["FEEDBASE_TEST_ENGINES"] else { return runnable }
        let names = Set(chosen.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        return runnable.filter { names.contains($0.rawValue) }
    }()

    /// A test given PostgreSQL where it cannot run fails, naming the reason: `available` leaves
    /// PostgreSQL out there, so only a test that names `.postgres` itself, outside
    /// PostgresSystemTier, gets here. (Not `Test.cancel`: Swift Testing 6.3 reports a cancelled
    /// case of a parameterized test as passed.)
    func requireAvailable() throws {
        guard self == .postgres, let reason = PostgresCluster.unavailableReason else { return }
        throw HTTPTestClientError(message: "this test asked for PostgreSQL by name; take Engine.available instead: \(reason)")
    }
}

/// The one visible line for a machine without PostgreSQL: Swift Testing reports a cancelled
/// case of a parameterized test as passed (6.3), so the missing cases are announced by this
/// suite's skip, with the reason, as FeedbasePostgresTests' suites are.
@Suite(.enabled(
    if: Engine.available.contains(.postgres),
    Comment(rawValue: "no PostgreSQL system tier: " + (PostgresCluster.unavailableReason ?? "FEEDBASE_TEST_ENGINES leaves it out"))))
struct PostgresSystemTier {
    @Test func aTestServerOnPostgreSQLIsWiredAsServeWiresIt() async throws {
        try await withServer(.postgres) { server in
            #expect(server.resources is PostgresStore && server.app.sqliteStore == nil)
            let health = try await server.request("GET", "/_health")
            #expect(health.status == 200)
        }
    }
}

/// SQL in each engine's dialect: a test's schema (one migration) or a foreign write. A string
/// literal is the same text on both, for SQL both engines read alike.
struct EngineSQL: Sendable, ExpressibleByStringLiteral {
    var sqlite: String
    var postgres: String

    init(sqlite: String, postgres: String) {
        self.sqlite = sqlite
        self.postgres = postgres
    }

    init(stringLiteral value: String) {
        self.init(sqlite: value, postgres: value)
    }

    init(_ both: String) {
        self.init(sqlite: both, postgres: both)
    }

    func text(for engine: Engine) -> String {
        switch engine {
        case .sqlite: sqlite
        case .postgres: postgres
        }
    }
}

/// At most `limit` servers on PostgreSQL at once in the test process. Swift Testing starts the
/// cases of every suite together; each PostgreSQL server holds up to 6 connections (its pool of
/// 4, LISTEN, the keys' reload) of the cluster's 300, which the PostgreSQL suites share. 6, not
/// 16: with 16, a loaded 2-core machine left requests of both engines unanswered for 10 s
/// (docs/TESTING.md, "Measured").
actor ServerSlots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ limit: Int) {
        free = limit
    }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }

    static let postgres = ServerSlots(4)
}
