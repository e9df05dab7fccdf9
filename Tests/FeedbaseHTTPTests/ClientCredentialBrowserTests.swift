// The browser client's credential replaced in place, in headless Chromium: a page holds a live
// list under alice's API key; `setToken` with alice's JWT keeps it live (writes after it arrive),
// with bob's key the list becomes bob's listing, and a refused token rejects with 401 and
// changes nothing. The page takes its steps when the test posts them (a `/command` page it polls).

import FeedbaseApp
import FeedbaseAuth
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ClientCredentialBrowserTests {
    static func page(server: String, tokens: [String: String]) throws -> String {
        let tokens = String(decoding: try JSONSerialization.data(withJSONObject: tokens), as: UTF8.self)
        return """
        <!doctype html><html><body><script type="module">
        let chain = Promise.resolve();
        const report = (text) => { chain = chain.then(() => fetch('/report', {method: 'POST', body: text})).catch(() => {}); };
        const tokens = \(tokens);
        try {
          const { Feedbase } = await import('\(server)/_client/feedbase.js');
          const db = new Feedbase('\(server)', { token: tokens.alice });
          const list = db.live('/docs?order=id.asc');
          list.onchange = (items) => report('state ' + JSON.stringify(items));
          list.onerror = (error) => report('failed ' + error.message);
          await list.ready;
          report('ready');
          let done = 'ready';
          while (true) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            const command = (await (await fetch('/command')).text()).trim();
            if (command === done || command === '') continue;
            done = command;
            try { await db.setToken(tokens[command]); report('token ' + command); }
            catch (error) { report('refused ' + command + ' ' + error.status); }
          }
        } catch (error) { report('error ' + error); }
        </script></body></html>
        """
    }

    static func lastState(_ reports: [String]) -> NSArray? {
        guard let last = reports.last(where: { $0.hasPrefix("state ") }) else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(last.dropFirst(6).utf8)) as? NSArray
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed here (apt-get install chromium); CI installs it and runs this test"))
    func aTokenReplacedInPlaceKeepsTheListLiveOrMakesItTheNewIdentitys() async throws {
        let listener = try ReportListener(pages: ["/command": ""])
        defer { listener.stop() }
        let rules = try AccessRules.parse(SocketAuthTests.rules, file: "rules.conf")
        let directory = FileManager.default.temporaryDirectory.path
        var failure: (any Error)?
        try await withServer(schema: AccessFeedTests.schema, progressInterval: .milliseconds(20), configure: { configuration in
            configuration.rules = rules
            configuration.crossOrigin = CrossOriginPolicy(origins: [listener.origin])
            do { try TestJWT.configure(&configuration, directory: directory) } catch { failure = error }
        }) { server in
            if let failure { throw failure }
            let admin = try await server.bearer(role: "admin")
            for owner in ["alice", "bob", "alice"] {
                _ = try await server.request("POST", "/docs", headers: admin, json: #"{"owner":"\#(owner)","title":"t"}"#)
            }
            let tokens = [
                "alice": try await server.apiKey(role: "user", subject: "alice"),
                "aliceJWT": try TestJWT.es256(TestJWT.claims(role: "user", subject: "alice")),
                "bob": try await server.apiKey(role: "user", subject: "bob"),
                "bad": "fbk_" + String(repeating: "z", count: 43),
            ]
            /// Waits until the page's list equals the listing under `token`.
            func converge(_ token: String, _ what: String) async throws {
                let fresh = try await server.request("GET", "/docs?order=id.asc", headers: [("Authorization", "Bearer " + token)])
                let expected = try JSONSerialization.jsonObject(with: Data(fresh.body)) as? NSArray
                try await listener.waitFor("\(what): the list equal to \(fresh.text)", seconds: 30) { Self.lastState($0)?.isEqual(expected) ?? false }
            }
            listener.serve(try Self.page(server: "http://127.0.0.1:\(server.port)", tokens: tokens), at: "/page")
            let browser = try Browser.open("\(listener.origin)/page", profile: server.directory + "/chromium-profile")
            defer { browser.signal(SIGTERM) }
            try await listener.waitFor("the list") { $0.contains("ready") || $0.contains { $0.hasPrefix("error") || $0.hasPrefix("failed") } }
            try await converge(tokens["alice"]!, "alice's snapshot")

            listener.serve("aliceJWT", at: "/command")
            try await listener.waitFor("the JWT taken") { $0.contains("token aliceJWT") }
            _ = try await server.request("POST", "/docs", headers: admin, json: #"{"owner":"alice","title":"after the JWT"}"#)
            try await converge(tokens["alice"]!, "a write after the JWT")

            listener.serve("bob", at: "/command")
            try await listener.waitFor("bob's key taken") { $0.contains("token bob") }
            try await converge(tokens["bob"]!, "bob's listing")
            _ = try await server.request("POST", "/docs", headers: admin, json: #"{"owner":"bob","title":"bob's"}"#)
            try await converge(tokens["bob"]!, "a write for bob")

            listener.serve("bad", at: "/command")
            try await listener.waitFor("the refusal") { $0.contains { $0.hasPrefix("refused bad") } }
            #expect(listener.received.contains("refused bad 401"), "\(listener.received)")
            _ = try await server.request("POST", "/docs", headers: admin, json: #"{"owner":"bob","title":"still bob's"}"#)
            try await converge(tokens["bob"]!, "a write after the refusal")
            #expect(!listener.received.contains { $0.hasPrefix("failed") || $0.hasPrefix("error") }, "\(listener.received)")
            await Browser.close(browser)
        }
    }
}
