// The real `feedbase` binary against far-future credentials and extreme flags: a key made by
// `keys create --expires 2400-01-01T00:00:00Z` and a JWT whose `exp` is 1e300 follow SSE and
// WebSocket feeds while the process lives on; flags whose timers or answers cannot be expressed
// (`--rate-limit 1e-19`, an idle timeout or heartbeat of centuries) are refused at start with
// one clear line instead of crashing the first client.

import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct CredentialBinaryTests {
    static var environment: [String: String] { ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FEEDBASE_") } }

    @Test func farFutureCredentialsFollowTheFeedWhileTheProcessLives() async throws {
        let (directory, _) = try TestServer.scratch(sql: nil)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/far.sqlite"
        let binary = try feedbaseBinary().path
        let migrated = try await ChildProcess.run(binary, ["migrate", "--db", database, "--migrations", TestServer.shippedMigrations], environment: Self.environment)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let made = try await ChildProcess.run(
            binary, ["keys", "create", "--db", database, "--role", "user", "--expires", "2400-01-01T00:00:00Z"], environment: Self.environment)
        #expect(made.status == 0, "\(made.stderr)")
        let key = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let jwt = try TestJWT.hs256(["role": "user", "sub": "alice", "exp": 1e300])

        let server = try ChildProcess(binary, [
            "serve", "--port", "0", "--db", database, "--migrations", TestServer.shippedMigrations, "--jwt-secret", TestJWT.secret,
        ], directory: directory, environment: Self.environment)
        defer { if server.isRunning { server.signal(SIGKILL) } }
        var port: Int?
        try await CredentialLifeTests.waitUntil("the server listens") {
            guard server.isRunning else { throw HTTPTestClientError(message: "the server exited: \(server.stderr)") }
            port = server.stderr.split(separator: "\n").first { $0.contains("listening on http://127.0.0.1:") }
                .flatMap { Int($0.split(separator: ":").last ?? "") }
            return port != nil
        }
        let listening = try #require(port)

        var open: [HTTPConnection] = []
        for (index, token) in [key, jwt].enumerated() {
            let auth = [("Authorization", "Bearer " + token)]
            let events = try await HTTPConnection(port: listening)
            try await events.write("GET", "/_feed?since=0", headers: auth + [("Accept", "text/event-stream")])
            #expect(try await events.readHead().status == 200)
            let socket = try await HTTPConnection(port: listening)
            #expect(try await socket.upgradeToWebSocket("/_feed?since=0", headers: auth).status == 101)
            open += [events, socket]
            // The process still answers, and the streams get a change.
            let created = try await HTTP.request(port: listening, "POST", "/projects", headers: auth + [("Content-Type", "application/json")], body: #"{"name":"far \#(index)"}"#)
            #expect(created.status == 201, "\(created.text)")
            let stream = EventStreamReader(events)
            var kinds: [String] = []
            while kinds.last != "change" && kinds.count < 10 { kinds.append(try await stream.next().event) }
            #expect(kinds.last == "change", "\(kinds)")
            var texts: [String] = []
            while !texts.contains(where: { $0.contains(#""name":"far \#(index)""#) }) && texts.count < 10 {
                let frame = try await socket.nextFrame()
                if frame.opcode == 1 { texts.append(frame.text) }
            }
            #expect(texts.contains { $0.contains(#""name":"far \#(index)""#) }, "\(texts)")
        }
        #expect(try await HTTP.request(port: listening, "GET", "/_health").status == 200)
        #expect(server.isRunning, "\(server.stderr)")
        for connection in open { connection.close() }
        server.signal(SIGTERM)
        #expect(try await server.exitStatus(timeout: .seconds(20)) == 0, "\(server.stderr)")
    }

    @Test(arguments: [
        (["--rate-limit", "1e-19"], "--rate-limit must be 0 (no limit) or at least 0.001"),
        (["--rate-limit", "nan"], "--rate-limit must be"),
        (["--idle-timeout", "9999999999999"], "--idle-timeout must be 1 to 31536000 seconds"),
        (["--feed-heartbeat", "9999999999999"], "--feed-heartbeat must be 1 to 86400 seconds"),
    ])
    func flagsNoClockCanHoldAreRefusedAtStart(flags: [String], message: String) async throws {
        let (directory, _) = try TestServer.scratch(sql: nil)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await ChildProcess.run(
            try feedbaseBinary().path, ["serve", "--port", "0", "--db", directory + "/flags.sqlite", "--migrations", TestServer.shippedMigrations] + flags,
            environment: Self.environment)
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("feedbase: error: ") && result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
