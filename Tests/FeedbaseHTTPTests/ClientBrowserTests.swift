// The browser client (/_client/feedbase.js) in a real browser, headless Chromium: a page on
// another origin (allowed by --cors-origin, not `*`) does CRUD through the module and holds live
// lists on both transports while another client writes (rows entering, changing, leaving the
// filter); the server stops, another program writes, the server starts again on the same port;
// every live array then equals a fresh listing. And the ten-line example of docs/CLIENT.md, run
// as it is written there. Skipped where `chromium` is not installed; CI installs it.

import FeedbaseApp
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ClientBrowserTests {
    /// The lists the page holds: name → the URL it follows (and the test lists afresh).
    static let lists: [(name: String, url: String, transport: String)] = [
        ("open", "/tasks?done=is.false&select=id,title,done&order=title.desc", "websocket"),
        ("mine", "/tasks?project_id=eq.1&order=priority.asc,title.desc", "websocket"),
        ("projects", "/projects", "websocket"),
        ("again", "/projects", "websocket"),  // the same band twice: a socket follows a band once
        ("sse", "/tasks?done=is.false&select=id,title", "sse"),
    ]

    /// Reports `crud {...}` (what the module's REST calls returned), `state NAME [items]` at every
    /// change of a live list, `ready` once every list is live, and any failure.
    static func page(server: String) -> String {
        let lists = Self.lists.map { #"\#($0.name): (\#($0.transport == "sse" ? "sse" : "db")).live("\#($0.url)")"# }.joined(separator: ",\n    ")
        return """
            <!doctype html><html><body><script type="module">
            let chain = Promise.resolve();
            const report = (text) => { chain = chain.then(() => fetch('/report', {method: 'POST', body: text})).catch(() => {}); };
            try {
              const { Feedbase, FeedbaseError } = await import('\(server)/_client/feedbase.js');
              const db = new Feedbase('\(server)');
              const sse = new Feedbase('\(server)', { transport: 'sse' });
              const made = await db.create('tasks', { project_id: 1, title: 'from the page', priority: 3 });
              const patched = await db.update('tasks', made.id, { priority: 4 });
              const got = await db.get('tasks', made.id);
              let refused = 'nothing';
              try { await db.create('tasks', { project_id: 1, title: 7 }); }
              catch (error) { refused = error instanceof FeedbaseError ? error.status + ' ' + error.problem.errors[0].pointer : String(error); }
              const page = await db.list('/tasks?order=id.asc&limit=2');
              report('crud ' + JSON.stringify({ priority: patched.priority, title: got.title, refused, page: page.map((t) => t.id) }));
              const lists = {
                \(lists)
              };
              for (const [name, list] of Object.entries(lists)) {
                list.onchange = (items) => report('state ' + name + ' ' + JSON.stringify(items));
                list.onerror = (error) => report('failed ' + name + ' ' + error.message);
              }
              // More lists than the server takes messages at once on a socket (16): the client paces them.
              // A reconnect resubscribes them all at once.
              const many = Array.from({ length: \(Self.many) }, (_, i) => db.live('/tasks?select=id&id=neq.' + (1000 + i)));
              many.forEach((list, i) => { list.onchange = (items) => report('state many' + i + ' ' + JSON.stringify(items)); });
              await Promise.all([...Object.values(lists), ...many].map((list) => list.ready));
              report('ready');
            } catch (error) { report('error ' + error); }
            </script></body></html>
            """
    }

    /// The last state the page reported for `name`, as JSON.
    static func lastState(_ reports: [String], _ name: String) -> Any? {
        guard let last = reports.last(where: { $0.hasPrefix("state \(name) ") }) else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(last.dropFirst("state \(name) ".count).utf8))
    }

    /// Lists of every task (each its own band) beside those: more than a socket takes at once.
    static let many = 24

    /// Waits (bounded) until every live list of the page equals a fresh listing of its URL.
    static func converge(_ listener: ReportListener, _ server: TestServer, _ what: String) async throws {
        let all = (0..<many).map { (name: "many\($0)", url: "/tasks?select=id&id=neq.\(1000 + $0)", transport: "websocket") }
        for list in lists + all {
            let fresh = try await server.request("GET", list.url + (list.url.contains("?") ? "&" : "?") + "limit=1000")
            #expect(fresh.status == 200)
            let expected = try JSONSerialization.jsonObject(with: Data(fresh.body)) as? NSArray
            try await listener.waitFor("\(what): \(list.name) equal to \(fresh.text)", seconds: 30) { reports in
                (lastState(reports, list.name) as? NSArray).map { $0.isEqual(expected) } ?? false
            }
        }
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed here (apt-get install chromium); CI installs it and runs this test"))
    func livePagesOnAnotherOriginSurviveARestartAndEqualFreshListings() async throws {
        let listener = try ReportListener(pages: [:])
        defer { listener.stop() }
        let allowed: (inout AppConfiguration) -> Void = { $0.crossOrigin = CrossOriginPolicy(origins: [listener.origin]) }
        let first = try await TestServer.start(configure: allowed)
        let port = first.port
        for name in ["one", "two"] { _ = try await first.request("POST", "/projects", json: #"{"name":"\#(name)"}"#) }
        for (title, priority) in [("b", "2"), ("a", "null"), ("c", "2"), ("b", "5")] {
            _ = try await first.request("POST", "/tasks", json: #"{"project_id":1,"title":"\#(title)","priority":\#(priority)}"#)
        }
        listener.serve(Self.page(server: "http://127.0.0.1:\(port)"), at: "/page")
        let browser = try Browser.open("\(listener.origin)/page", profile: first.directory + "/chromium-profile")
        var current: TestServer? = first
        do {
            try await listener.waitFor("the live lists") { $0.contains("ready") || $0.contains { $0.hasPrefix("error") || $0.hasPrefix("failed") } }
            let crud = try #require(listener.received.first { $0.hasPrefix("crud ") })
            #expect(crud == #"crud {"priority":4,"title":"from the page","refused":"422 /title","page":[1,2]}"#, "\(listener.received)")
            try await Self.converge(listener, first, "the snapshots")

            // Another client writes: rows enter, change, leave the filters, go away.
            _ = try await first.request("POST", "/tasks", json: #"{"project_id":2,"title":"d","priority":1}"#)
            _ = try await first.request("PATCH", "/tasks/1", json: #"{"done":true}"#)  // leaves open and sse
            _ = try await first.request("PATCH", "/tasks/3", json: #"{"project_id":2}"#)  // leaves mine
            _ = try await first.request("PATCH", "/tasks/4", json: #"{"title":"z"}"#)  // moves in open's order
            _ = try await first.request("DELETE", "/tasks/2")
            _ = try await first.request("PATCH", "/projects/2", json: #"{"name":"deux"}"#)
            try await Self.converge(listener, first, "the live writes")

            // The server stops; another program writes meanwhile; it starts on the same port.
            current = nil
            await first.stop(removingFiles: false)
            try await first.sqlite3("""
                INSERT INTO tasks (project_id, title, priority) VALUES (1, 'e', 3), (1, 'f', NULL);
                UPDATE tasks SET done = 1 WHERE id = 4; UPDATE tasks SET done = 0, priority = 1 WHERE id = 1;
                INSERT INTO projects (name) VALUES ('three');
                """)
            let second = try await TestServer.start(directory: first.directory, migrations: first.migrations) {
                allowed(&$0)
                $0.server.port = port
            }
            current = second
            _ = try await second.request("PATCH", "/tasks/5", json: #"{"done":true}"#)  // leaves open and sse
            _ = try await second.request("PATCH", "/tasks/3", json: #"{"project_id":1}"#)  // enters mine again
            _ = try await second.request("POST", "/tasks", json: #"{"project_id":1,"title":"g"}"#)
            try await Self.converge(listener, second, "after the restart")
        } catch {
            await Browser.close(browser)
            await current?.stop()
            throw error
        }
        await Browser.close(browser)
        await current?.stop()
        #expect(!listener.received.contains { $0.hasPrefix("failed") || $0.hasPrefix("error") }, "\(listener.received)")
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed here (apt-get install chromium); CI installs it and runs this test"))
    func liveListsPastTheRateLimitAreFollowedOnceTheRateAllows() async throws {
        // Eight lists at once against five requests a second (bursts of 5): snapshots, subscribe
        // messages (or, past two refused upgrades, event streams) are refused with 429, and each
        // is tried again after the backoff, from its seq.
        let urls = (0..<8).map { "/tasks?select=id,title&id=neq.\(2000 + $0)" }
        let listener = try ReportListener(pages: [:])
        defer { listener.stop() }
        try await withServer(configure: {
            $0.crossOrigin = CrossOriginPolicy(origins: [listener.origin])
            $0.rateLimit = (rate: 5, burst: 5)
        }) { server in
            // The test's requests carry an API key: a bucket apart from the page's (its address).
            let key = try await server.bearer(role: "admin")
            _ = try await server.request("POST", "/projects", headers: key, json: #"{"name":"p"}"#)
            _ = try await server.request("POST", "/tasks", headers: key, json: #"{"project_id":1,"title":"before"}"#)
            let origin = "http://127.0.0.1:\(server.port)"
            listener.serve("""
                <!doctype html><html><body><script type="module">
                let chain = Promise.resolve();
                const report = (text) => { chain = chain.then(() => fetch('/report', {method: 'POST', body: text})).catch(() => {}); };
                try {
                  const { Feedbase } = await import('\(origin)/_client/feedbase.js');
                  const db = new Feedbase('\(origin)');
                  const lists = \(String(decoding: try JSONSerialization.data(withJSONObject: urls, options: [.withoutEscapingSlashes]), as: UTF8.self)).map((url) => db.live(url));
                  lists.forEach((list, i) => {
                    list.onchange = (items) => report('state l' + i + ' ' + JSON.stringify(items));
                    list.onerror = (error) => report('failed l' + i + ' ' + error.message);
                  });
                  await Promise.all(lists.map((list) => list.ready));
                  report('ready');
                } catch (error) { report('error ' + error); }
                </script></body></html>
                """, at: "/page")
            let browser = try Browser.open("\(listener.origin)/page", profile: server.directory + "/chromium-profile")
            defer { browser.signal(SIGTERM) }
            // Each refusal backs off (up to 10 s a try): on a loaded machine eight lists take a while.
            try await listener.waitFor("the live lists", seconds: 180) { $0.contains("ready") || $0.contains { $0.hasPrefix("error") || $0.hasPrefix("failed") } }
            // The test is a client under the same limit: it waits as Retry-After says.
            func patiently(_ method: String, _ target: String, json: String? = nil) async throws -> HTTPResponse {
                for _ in 0..<30 {
                    let response = try await server.request(method, target, headers: key, json: json)
                    guard response.status == 429 else { return response }
                    try await Task.sleep(for: .seconds(Int(response.header("Retry-After") ?? "") ?? 1))
                }
                throw HTTPTestClientError(message: "\(method) \(target) was refused 30 times")
            }
            #expect(try await patiently("POST", "/tasks", json: #"{"project_id":1,"title":"after"}"#).status == 201)
            #expect(try await patiently("PATCH", "/tasks/1", json: #"{"title":"changed"}"#).status == 200)
            for (index, url) in urls.enumerated() {
                let fresh = try await patiently("GET", url)
                let expected = try JSONSerialization.jsonObject(with: Data(fresh.body)) as? NSArray
                try await listener.waitFor("l\(index) equal to \(fresh.text)") { reports in
                    (Self.lastState(reports, "l\(index)") as? NSArray).map { $0.isEqual(expected) } ?? false
                }
            }
            #expect(!listener.received.contains { $0.hasPrefix("failed") || $0.hasPrefix("error") }, "\(listener.received)")
            let metrics = try await patiently("GET", "/metrics").text
            #expect(!metrics.contains("feedbase_rate_limited_total 0\n"), "nothing was refused: the test did not test the retries")
            await Browser.close(browser)
        }
    }

    /// The ```html block of docs/CLIENT.md, as written there.
    static func example() throws -> String {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/CLIENT.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        guard let start = text.range(of: "```html\n"), let end = text.range(of: "```", range: start.upperBound..<text.endIndex) else {
            throw HTTPTestClientError(message: "docs/CLIENT.md has no html example")
        }
        return String(text[start.upperBound..<end.lowerBound])
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed here (apt-get install chromium); CI installs it and runs this test"))
    func theTenLineExampleRunsAsWritten() async throws {
        let example = try Self.example()
        #expect(example.split(separator: "\n").count == 10)
        // The example names http://localhost:8080; the browser is told that this is the test's
        // server, and a page beside it reads the example's list from its frame.
        let listener = try ReportListener(pages: ["/example": example, "/page": """
            <!doctype html><html><body><iframe src="/example"></iframe><script>
            let last = null, chain = Promise.resolve();
            setInterval(() => {
              const items = [...(document.querySelector('iframe').contentDocument?.querySelectorAll('#tasks li') ?? [])].map((li) => li.textContent);
              const text = JSON.stringify(items);
              if (text !== last) { last = text; chain = chain.then(() => fetch('/report', {method: 'POST', body: text})).catch(() => {}); }
            }, 20);
            </script></body></html>
            """])
        defer { listener.stop() }
        try await withServer(configure: { $0.crossOrigin = CrossOriginPolicy(origins: [listener.origin]) }) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"p"}"#)
            for (title, priority) in [("low", 1), ("high", 5)] {
                _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"\#(title)","priority":\#(priority)}"#)
            }
            let browser = try Browser.open(
                "\(listener.origin)/page", profile: server.directory + "/chromium-profile",
                ["--host-resolver-rules=MAP localhost:8080 127.0.0.1:\(server.port)"])
            defer { browser.signal(SIGTERM) }
            try await listener.waitFor("the snapshot") { $0.last == #"["high","low"]"# }
            _ = try await server.request("POST", "/tasks", json: #"{"project_id":1,"title":"mid","priority":3}"#)
            try await listener.waitFor("a task entering") { $0.last == #"["high","mid","low"]"# }
            _ = try await server.request("PATCH", "/tasks/1", json: #"{"done":true}"#)
            try await listener.waitFor("a task leaving") { $0.last == #"["high","mid"]"# }
            await Browser.close(browser)
        }
    }

    @Test func theModuleAndItsTypesAreServedFromTheBinaryWithCORSAndETags() async throws {
        try await withServer(configure: { $0.crossOrigin = CrossOriginPolicy(origins: ["http://app.test"]) }) { server in
            let script = try await server.request("GET", "/_client/feedbase.js", headers: [("Origin", "http://app.test")])
            #expect(script.status == 200)
            #expect(script.header("Content-Type") == "text/javascript; charset=utf-8")
            #expect(script.header("Access-Control-Allow-Origin") == "http://app.test")
            #expect(script.header("Cache-Control") == "no-cache")
            #expect(script.text.contains("export class Feedbase"))
            let etag = try #require(script.header("ETag"))
            let again = try await server.request("GET", "/_client/feedbase.js", headers: [("If-None-Match", etag)])
            #expect(again.status == 304 && again.body.isEmpty)
            let types = try await server.request("GET", "/_client/feedbase.d.ts")
            #expect(types.status == 200 && types.header("Content-Type") == "application/typescript; charset=utf-8")
            #expect(types.text.contains("export class LiveList"))
            #expect(try await server.request("HEAD", "/_client/feedbase.js").status == 200)
            // The bytes served are the source file's.
            let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Sources/FeedbaseHTTP/Client/feedbase.js")
            #expect(script.body == Array(try Data(contentsOf: source)))
            // The index names each collection's key, which the client tells items apart by.
            let index = try JSONSerialization.jsonObject(with: Data(try await server.request("GET", "/").body)) as? [String: Any]
            let collections = index?["collections"] as? [[String: Any]] ?? []
            #expect(collections.first { $0["name"] as? String == "comments" }?["key"] as? String == "id")
        }
    }
}
