// The explorer (/_ui) in headless Chromium, by clicks and typing through the DevTools protocol:
// pick a collection, build a filter, order, embed and page; create with a validation error shown
// at its field, fix it and save; edit; delete; the live view while another client writes (rows
// entering, changing, and leaving the filter); the raw feed; and, with rules, a sign-in with an
// API key after which the page sees exactly the key's rows. With FEEDBASE_UI_SCREENSHOTS=DIR
// it also writes the screenshots docs/ shows. Skipped where `chromium` is not installed; CI
// installs it.

import FeedbaseApp
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct ExplorerBrowserTests {
    /// True in the page when its table shows the rows of `ids`, in that order.
    static func rowsAre(_ ids: [Int]) -> String {
        "[...document.querySelectorAll('#rows tbody tr')].map((r) => r.dataset.id).join(',') === '\(ids.map(String.init).joined(separator: ","))'"
    }

    static func ids(_ response: HTTPResponse) throws -> [Int] {
        let items = try JSONSerialization.jsonObject(with: Data(response.body)) as? [[String: Any]] ?? []
        return items.compactMap { $0["id"] as? Int }
    }

    /// The id of the item a create answered with.
    static func id(_ response: HTTPResponse) -> Int? {
        ((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any])?["id"] as? Int
    }

    static var screenshots: String? { ProcessInfo.processInfo.environment["FEEDBASE_UI_SCREENSHOTS"] }

    @Test(.enabled(if: chromium != nil, "chromium is not installed here (apt-get install chromium); CI installs it and runs this test"))
    func browseFilterCreateEditDeleteAndFollowLiveByClicksAndTyping() async throws {
        try await withServer { server in
            for name in ["Home", "Garden"] { _ = try await server.request("POST", "/projects", json: #"{"name":"\#(name)"}"#) }
            for (project, title, priority) in [(1, "Paint the fence", "2"), (2, "Dig the bed", "3"), (1, "Paint the door", "4"), (2, "Mow", "null")] {
                #expect(try await server.request("POST", "/tasks", json: #"{"project_id":\#(project),"title":"\#(title)","priority":\#(priority)}"#).status == 201)
            }
            let page = try await DevTools.open("http://127.0.0.1:\(server.port)/_ui", profile: server.directory + "/chromium-profile")
            do {
                // Pick a collection, type a filter.
                try await page.click(#"#collections button[data-collection="tasks"]"#)
                try await page.waitFor("every task", Self.rowsAre([1, 2, 3, 4]))
                #expect(try await page.evaluate("document.querySelector('#openapi').getAttribute('href')") == #""/openapi.json""#)
                try await page.click("#add-filter")
                try await page.choose("#filters .filter-column", "title")
                try await page.choose("#filters .filter-op", "ilike")
                try await page.type("#filters .filter-value", "*paint*", enter: true)
                try await page.waitFor("the filtered tasks", Self.rowsAre([1, 3]))
                #expect(try await page.evaluate("document.querySelector('#url').textContent") == #""/tasks?title=ilike.*paint*&limit=20""#)

                // "(key)" descending names the key.
                try await page.choose("#order-direction", "desc")
                try await page.type("#limit", "20", enter: true)
                try await page.waitFor("the key descending", Self.rowsAre([3, 1]))
                #expect(try await page.evaluate("document.querySelector('#url').textContent").contains("order=id.desc"))

                // Order, embed a relation, keyset pages.
                try await page.choose("#order-column", "priority")
                try await page.choose("#order-direction", "desc")
                try await page.type("#select", "id,title,project(name)")
                try await page.type("#limit", "1", enter: true)
                try await page.waitFor("the first page", Self.rowsAre([3]))
                #expect(try await page.evaluate(#"document.querySelector('#rows tbody tr').textContent.includes('{"name":"Home"}')"#) == "true")
                try await page.click("#next")
                try await page.waitFor("the next page (Link: next)", Self.rowsAre([1]))

                // Create: a CHECK violation shown at its field, then fixed and saved.
                try await page.click("#new")
                try await page.type("#field-project_id", "1")
                try await page.type("#field-title", "Paint the gate")
                try await page.type("#field-priority", "9")
                try await page.click("#save")
                try await page.waitFor(
                    "the error at priority",
                    #"document.querySelector('.field[data-field="priority"]').classList.contains('invalid') && document.querySelector('.field[data-field="priority"] .field-error').textContent.length > 0"#)
                #expect(try await page.evaluate(#"document.querySelector('.field[data-field="title"]').classList.contains('invalid')"#) == "false")
                if let directory = Self.screenshots { try await page.screenshot(directory + "/explorer-form.png") }
                try await page.type("#field-priority", "3")
                try await page.click("#save")
                try await page.waitFor("the form to close", "document.querySelector('#editor').hidden")
                let made = try await server.request("GET", "/tasks?title=eq.Paint%20the%20gate")
                #expect(made.text.contains(#""priority":3"#), "\(made.text)")
                let gate = try #require(try Self.ids(made).first)

                // Edit, on the page read again after the save: the new item follows 3 (priority 4).
                try await page.waitFor("the second page again", Self.rowsAre([gate]))
                try await page.click(#"tr[data-id="\#(gate)"] .edit"#)
                try await page.type("#field-title", "Paint the gate white")
                try await page.click("#save")
                try await page.waitFor("the form to close", "document.querySelector('#editor').hidden")
                #expect(try await server.request("GET", "/tasks/\(gate)").text.contains(#""title":"Paint the gate white""#))
                try await page.waitFor("the edited row", #"document.querySelector('#rows tbody').textContent.includes('Paint the gate white')"#)

                // Delete: a second click confirms.
                try await page.click(#"#collections button[data-collection="tasks"]"#)
                try await page.type("#limit", "20", enter: true)
                try await page.waitFor("every task", Self.rowsAre([1, 2, 3, 4, gate]))
                try await page.click(#"tr[data-id="2"] .delete"#)
                try await page.click(#"tr[data-id="2"] .delete"#)
                try await page.waitFor("the row to go", Self.rowsAre([1, 3, 4, gate]))
                #expect(try await server.request("GET", "/tasks/2").status == 404)

                // The live view of a filter while another client writes.
                try await page.click("#add-filter")
                try await page.choose("#filters .filter-column", "done")
                try await page.choose("#filters .filter-op", "is")
                try await page.type("#filters .filter-value", "false")
                try await page.click("#live")
                try await page.waitFor("the live view", "document.querySelector('#status').textContent.startsWith('live: 4 items')")
                // Every mark the table shows is noted as it is drawn: a mark lasts seconds, and a
                // loaded machine may look later than that.
                _ = try await page.evaluate("""
                    (() => { window.marks = new Set(); const body = document.querySelector('#rows tbody');
                      new MutationObserver(() => { for (const tr of body.querySelectorAll('tr')) if (tr.className) window.marks.add(tr.className + ':' + tr.dataset.id); })
                        .observe(body, {childList: true, subtree: true, attributes: true}); return true; })()
                    """)
                let created = try await server.request("POST", "/tasks", json: #"{"project_id":2,"title":"Weed"}"#)
                let weed = try #require(Self.id(created))
                try await page.waitFor("the new row marked", "window.marks.has('entered:\(weed)')")
                _ = try await server.request("PATCH", "/tasks/3", json: #"{"priority":5}"#)
                try await page.waitFor("the changed row marked", "window.marks.has('changed:3')")
                _ = try await server.request("PATCH", "/tasks/4", json: #"{"done":true}"#)
                try await page.waitFor("the row leaving the filter marked", "window.marks.has('left:4')")
                if let directory = Self.screenshots {
                    // The clicks scrolled the table sideways to its buttons: its start again.
                    _ = try await page.evaluate("document.querySelector('#table-wrap').scrollLeft = 0")
                    try await page.screenshot(directory + "/explorer.png")
                }
                let fresh = try Self.ids(try await server.request("GET", "/tasks?done=is.false&limit=1000"))
                #expect(fresh == [1, 3, gate, weed])
                try await page.waitFor("the live rows equal to a fresh listing", Self.rowsAre(fresh), seconds: 10)

                // The raw feed shows the writes.
                try await page.click("#show-feed")
                try await page.waitFor("the feed's events", #"document.querySelector('#events').textContent.includes('"title":"Weed"')"#)
            } catch {
                await page.close()
                throw error
            }
            await page.close()
        }
    }

    @Test(.enabled(if: chromium != nil, "chromium is not installed here (apt-get install chromium); CI installs it and runs this test"))
    func signedInWithAnAPIKeyThePageSeesExactlyWhatTheKeyMayRead() async throws {
        let rules = try AccessRules.parse("""
            allow read on notes to user where owner=eq.$sub
            allow * on notes to admin
            """, file: "rules.conf")
        let sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, body TEXT NOT NULL);"
        try await withServer(sql: sql, configure: { $0.rules = rules }) { server in
            let admin = try await server.bearer(role: "admin")
            for (owner, body) in [("alice", "a1"), ("bob", "b1"), ("alice", "a2")] {
                #expect(try await server.request("POST", "/notes", headers: admin, json: #"{"owner":"\#(owner)","body":"\#(body)"}"#).status == 201)
            }
            let alice = try await server.apiKey(role: "user", subject: "alice")
            let page = try await DevTools.open("http://127.0.0.1:\(server.port)/_ui", profile: server.directory + "/chromium-profile")
            do {
                try await page.click(#"#collections button[data-collection="notes"]"#)
                try await page.waitFor("the anonymous refusal", "document.querySelector('#status').textContent.startsWith('401')")
                try await page.type("#key", alice, enter: true)
                try await page.waitFor("alice's notes", Self.rowsAre([1, 3]))
                #expect(try await page.evaluate("document.querySelector('#who').textContent") == #""key \#(alice.prefix(8))…""#)
                try await page.click("#live")
                try await page.waitFor("the live view", "document.querySelector('#status').textContent.startsWith('live: 2 items')")
                for (owner, body) in [("bob", "b2"), ("alice", "a3")] {
                    #expect(try await server.request("POST", "/notes", headers: admin, json: #"{"owner":"\#(owner)","body":"\#(body)"}"#).status == 201)
                }
                try await page.waitFor("alice's new note", Self.rowsAre([1, 3, 5]))
                #expect(try await page.evaluate("document.querySelector('#rows').textContent.includes('bob')") == "false")
            } catch {
                await page.close()
                throw error
            }
            await page.close()
        }
    }

    @Test func theExplorerIsServedUnderItsOwnPolicyAndNotAtAllWithNoUI() async throws {
        try await withServer { server in
            let page = try await server.request("GET", "/_ui")
            #expect(page.status == 200)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            let policy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            #expect(page.header("Content-Security-Policy") == policy)
            for asset in ["explorer.js", "schema.js", "editor.js", "explorer.css"] {
                let response = try await server.request("GET", "/_ui/" + asset)
                #expect(response.status == 200, "\(asset)")
                #expect(response.header("Content-Security-Policy") == policy)
                let etag = try #require(response.header("ETag"))
                #expect(try await server.request("GET", "/_ui/" + asset, headers: [("If-None-Match", etag)]).status == 304)
            }
            // Everything else still forbids everything.
            #expect(try await server.request("GET", "/tasks").header("Content-Security-Policy") == "default-src 'none'; frame-ancestors 'none'")
        }
        try await withServer(configure: { $0.explorer = false }) { server in
            let page = try await server.request("GET", "/_ui"), script = try await server.request("GET", "/_ui/explorer.js")
            #expect(page.status == 404 && script.status == 404)
        }
    }
}
