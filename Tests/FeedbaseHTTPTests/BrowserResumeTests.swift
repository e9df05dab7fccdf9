// A real browser's EventSource across a server restart: headless Chromium opens a band with
// `since=0` in its URL, the server stops and starts again on the same port and database (with
// writes by another program in between), and the page receives every event exactly once. The
// browser resumes as browsers do, with its URL unchanged and `Last-Event-ID` added, which is
// what the server must honour over the URL's `since`.
//
// The page is served by a small listener (Support/Browser.swift), which also takes the page's reports
// (one POST per event, sent one after another); the test waits for them, bounded. Skipped when
// no `chromium` is installed here; CI installs it (.ci/run).

import FeedbaseApp
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct BrowserResumeTests {
    /// The page: an EventSource on a band with `since=0` in its URL; every `open`, `error`,
    /// `change` and `ready` is reported, one POST after another (so they arrive in order).
    private static func page(feedPort: Int) -> String {
        """
        <!doctype html><html><body><script>
        let chain = Promise.resolve();
        const report = (text) => { chain = chain.then(() => fetch('/report', {method: 'POST', body: text})).catch(() => {}); };
        const source = new EventSource('http://127.0.0.1:\(feedPort)/tasks?done=eq.false&select=id,title&since=0');
        source.addEventListener('open', () => report('open'));
        source.addEventListener('error', () => report('error'));
        source.addEventListener('ready', (event) => report('ready ' + JSON.parse(event.data).seq));
        source.addEventListener('change', (event) => {
          const data = JSON.parse(event.data);
          report('change ' + event.lastEventId + ' ' + data.seq + ' ' + data.op + ' ' + data.id);
        });
        </script></body></html>
        """
    }

    private func waitFor(_ listener: ReportListener, _ what: String, _ condition: ([String]) -> Bool) async throws {
        try await listener.waitFor(what, condition)
    }

    private static func close(_ browser: ChildProcess) async { await Browser.close(browser) }

    private static func changeSeqs(_ reports: [String]) -> [Int] {
        reports.filter { $0.hasPrefix("change ") }.compactMap { Int($0.split(separator: " ")[2]) }
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed here (apt-get install chromium); CI installs it and runs this test"),
        arguments: Engine.available)
    func anEventSourceWithSinceInItsURLGetsEveryEventOnceAcrossARestart(engine: Engine) async throws {
        let browserPath = try #require(chromium)
        let allowAny: (inout AppConfiguration) -> Void = { $0.crossOrigin = CrossOriginPolicy(origins: ["*"]) }
        let first = try await TestServer.start(engine: engine, configure: allowAny)
        let port = first.port
        _ = try await first.request("POST", "/projects", json: #"{"name":"p"}"#)  // seq 1
        for title in ["a", "b", "c"] { _ = try await first.request("POST", "/tasks", json: #"{"project_id":1,"title":"\#(title)"}"#) }  // 2...4

        let listener = try ReportListener(page: Self.page(feedPort: port))
        defer { listener.stop() }
        let profile = first.directory + "/chromium-profile"
        let browser = try ChildProcess(browserPath, [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--user-data-dir=\(profile)", "http://127.0.0.1:\(listener.port)/page",
        ], environment: ProcessInfo.processInfo.environment)
        var current: TestServer? = first
        do {
            try await waitFor(listener, "the backlog") { $0.contains("ready 4") }
            _ = try await first.request("POST", "/tasks", json: #"{"project_id":1,"title":"d"}"#)  // 5, live
            try await waitFor(listener, "the live event") { Self.changeSeqs($0).contains(5) }

            // The server stops; another program writes meanwhile; it starts on the same port.
            current = nil
            await first.stop(removingFiles: false)
            try await first.foreignWrite(EngineSQL(  // 6, 7, 8
                sqlite: "INSERT INTO tasks (project_id, title) VALUES (1, 'e'), (1, 'f'); UPDATE tasks SET done = 1 WHERE id = 1",
                postgres: "INSERT INTO tasks (project_id, title) VALUES (1, 'e'), (1, 'f'); UPDATE tasks SET done = true WHERE id = 1"))
            let second = try await TestServer.start(
                engine: engine, directory: first.directory, migrations: first.migrations, database: first.postgres
            ) {
                allowAny(&$0)
                $0.server.port = port
            }
            current = second
            try await waitFor(listener, "the events written while the server was down") { Self.changeSeqs($0).contains(8) }
            _ = try await second.request("POST", "/tasks", json: #"{"project_id":1,"title":"g"}"#)  // 9
            try await waitFor(listener, "the live event after the restart") { Self.changeSeqs($0).contains(9) }
        } catch {
            await Self.close(browser)
            if let current {
                await current.stop()
            } else {
                // Stopped for the restart, not started again: its files and database are left.
                try? FileManager.default.removeItem(atPath: first.directory)
                if let database = first.postgres { try? await PostgresCluster.shared().dropDatabase(database) }
            }
            throw error
        }
        await Self.close(browser)
        await current?.stop()

        let reports = listener.received
        #expect(Self.changeSeqs(reports) == [2, 3, 4, 5, 6, 7, 8, 9], "\(reports)")
        // Every event's id is its seq, and the browser did reconnect (one more open).
        #expect(reports.filter { $0.hasPrefix("change ") }.allSatisfy { $0.split(separator: " ")[1] == $0.split(separator: " ")[2] }, "\(reports)")
        #expect(reports.filter { $0 == "open" }.count >= 2, "\(reports)")
        #expect(reports.filter { $0.hasPrefix("change ") }.map { String($0.split(separator: " ")[3]) } == [
            "create", "create", "create", "create", "create", "create", "leave", "create",
        ], "\(reports)")
    }
}
