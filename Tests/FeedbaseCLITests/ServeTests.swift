// `feedbase serve` as a user runs it: port 0 logs the bound address on one line, the server
// answers over HTTP, SIGHUP does not end it, SIGTERM stops it cleanly with exit status 0, and bad
// flags are one error line.

import FeedbaseTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A running `feedbase serve` whose standard error is collected as it arrives.
final class ServeProcess: Sendable {
    let child: ChildProcess

    /// `environment` adds to the test's own, whose FEEDBASE_ variables are left out.
    init(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws {
        child = try ChildProcess(try feedbaseBinary().path, ["serve"] + arguments, directory: directory,
            environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("FEEDBASE_") }.merging(environment) { $1 })
    }

    /// A test that fails before stopping its server (a timeout, say) leaves no process behind.
    deinit {
        if child.isRunning { child.signal(SIGKILL) }
    }

    var log: String { child.stderr }

    /// Waits (bounded) until `condition` holds for the log so far.
    func waitForLog(timeout: Duration = .seconds(30), _ condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let log = self.log
            if condition(log) { return log }
            if !child.isRunning { throw CLITestError("the server exited early: \(log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CLITestError("timed out waiting for the log: \(log)")
    }

    func stop() async throws -> Int32 {
        child.signal(SIGTERM)
        return try await child.exitStatus(timeout: .seconds(20))
    }
}

@Suite struct ServeTests {
    @Test func servesOnAPickedPortAndStopsCleanlyOnSIGTERM() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let server = try ServeProcess(["--port", "0"], in: workspace.path)
        let log = try await server.waitForLog { $0.contains("listening on http://127.0.0.1:") }
        let line = try #require(log.split(separator: "\n").first { $0.contains("listening on") })
        let port = try #require(Int(line.split(separator: ":").last ?? ""))
        #expect(port > 0)

        let url = try #require(URL(string: "http://127.0.0.1:\(port)/tasks"))
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"name":"from the binary"}"#.utf8)
        request.url = URL(string: "http://127.0.0.1:\(port)/projects")
        let (_, created) = try await URLSession.shared.data(for: request)
        #expect((created as? HTTPURLResponse)?.statusCode == 201)
        let (body, listed) = try await URLSession.shared.data(from: url)
        #expect((listed as? HTTPURLResponse)?.statusCode == 200 && String(decoding: body, as: UTF8.self) == "[]")
        _ = try await server.waitForLog { $0.contains("POST /projects 201") }
        // SIGHUP (a closed terminal, or an operator) reloads the keys; the process serves on.
        server.child.signal(SIGHUP)
        _ = try await server.waitForLog { $0.contains("SIGHUP: API keys reloaded") }
        let (_, after) = try await URLSession.shared.data(from: url)
        #expect((after as? HTTPURLResponse)?.statusCode == 200)

        #expect(try await server.stop() == 0)
        #expect(server.log.contains("stopped"))
        #expect(FileManager.default.fileExists(atPath: workspace.file("feedbase.sqlite")))
    }

    @Test func badServeFlagsAreOneErrorLine() async throws {
        let workspace = try Workspace()
        try workspace.copyMigrations()
        expectOneErrorLine(try await run(["serve", "--port", "99999"], in: workspace.path), containing: "--port must be 0 to 65535")
        expectOneErrorLine(try await run(["serve", "--port", "http"], in: workspace.path), containing: "--port")
        expectOneErrorLine(try await run(["serve", "--max-body", "0"], in: workspace.path), containing: "--max-body")
        expectOneErrorLine(try await run(["serve", "--log-level", "loud"], in: workspace.path), containing: "--log-level")
        expectOneErrorLine(try await run(["serve", "--migrations", "nowhere"], in: workspace.path), containing: "nowhere")
        expectOneErrorLine(try await run(["serve", "--max-uri-bytes", "90000"], in: workspace.path), containing: "--max-uri-bytes must be at least 256")
        expectOneErrorLine(try await run(["serve", "--request-timeout", "0"], in: workspace.path), containing: "--request-timeout")
        expectOneErrorLine(try await run(["serve", "--max-db-size", "lots"], in: workspace.path), containing: "--max-db-size")
        expectOneErrorLine(try await run(["serve"], in: workspace.path, environment: ["FEEDBASE_MAX_HEADERS": "lots"]), containing: "FEEDBASE_MAX_HEADERS must be")
    }
}

@Suite struct ReadmeTests {
    /// The curl lines of README's quick start, run in order against `feedbase serve` (with the
    /// port the server picked): each must answer 2xx, so the README cannot drift from the server.
    @Test func theReadmeQuickStartWorksVerbatim() async throws {
        let readme = try String(contentsOfFile: URL(fileURLWithPath: shippedMigrations).deletingLastPathComponent()
            .appendingPathComponent("README.md").path, encoding: .utf8)
        // The quick start (`curl -s` lines); the feed examples stream forever and are checked by FeedTests.
        let lines = readme.split(separator: "\n").map(String.init).filter { $0.hasPrefix("curl -s ") }
        #expect(lines.count >= 4)
        #expect(readme.contains("swift run feedbase serve"))
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let server = try ServeProcess(["--port", "0"], in: workspace.path)
        let log = try await server.waitForLog { $0.contains("listening on http://127.0.0.1:") }
        let line = try #require(log.split(separator: "\n").first { $0.contains("listening on") })
        let port = try #require(line.split(separator: ":").last.map(String.init))
        for command in lines {
            #expect(command.contains("localhost:8080"))
            let local = command.replacingOccurrences(of: "localhost:8080", with: "127.0.0.1:\(port)")
            let result = try await ChildProcess.run("/bin/bash", ["-c",
                local.replacingOccurrences(of: "curl -s", with: "curl -s -w '\\n%{http_code}' --max-time 10")],
                environment: ProcessInfo.processInfo.environment)
            let output = result.stdout
            let status = output.split(separator: "\n").last.map(String.init) ?? ""
            #expect(result.status == 0 && status.hasPrefix("2"), "\(command) → \(output)")
        }
        #expect(try await server.stop() == 0)
    }
}
