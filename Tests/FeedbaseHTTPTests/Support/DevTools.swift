// Headless Chromium driven through its DevTools protocol, for tests that click and type: a
// page target's WebSocket (the test client's own frames, no WebDriver, no package to install),
// trusted input events (`Input.dispatchMouseEvent` at an element's centre, `Input.insertText`,
// key presses), `Runtime.evaluate` to read the page, and `Page.captureScreenshot`.

import FeedbaseTestSupport
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Unchecked Sendable: one test drives one browser, one command after another.
final class DevTools: @unchecked Sendable {
    let browser: ChildProcess
    private let connection: HTTPConnection
    private var lastID = 0

    private init(browser: ChildProcess, connection: HTTPConnection) {
        self.browser = browser
        self.connection = connection
    }

    /// Chromium on `url`, `width`×`height`, with its DevTools on a port it picks (read from the
    /// profile's DevToolsActivePort), connected to the page's target.
    static func open(_ url: String, profile: String, width: Int = 1280, height: Int = 760) async throws -> DevTools {
        let browser = try Browser.open(url, profile: profile, ["--remote-debugging-port=0", "--window-size=\(width),\(height)", "--hide-scrollbars"])
        do {
            let deadline = ContinuousClock.now + .seconds(30)
            var written: Int?
            while written == nil {
                if let text = try? String(contentsOfFile: profile + "/DevToolsActivePort", encoding: .utf8) {
                    written = text.split(separator: "\n").first.flatMap { Int($0) }
                }
                guard ContinuousClock.now < deadline else { throw HTTPTestClientError(message: "Chromium wrote no DevToolsActivePort") }
                if written == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            guard let port = written else { throw HTTPTestClientError(message: "no DevTools port") }
            var found: String?
            while found == nil {
                let list = try await HTTPConnection(port: port).request("GET", "/json/list")
                let targets = (try? JSONSerialization.jsonObject(with: Data(list.body)) as? [[String: Any]]) ?? []
                found = targets.first { $0["type"] as? String == "page" }?["webSocketDebuggerUrl"] as? String
                guard ContinuousClock.now < deadline else { throw HTTPTestClientError(message: "Chromium shows no page target") }
                if found == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            guard let target = found, let path = URL(string: target)?.path else { throw HTTPTestClientError(message: "no page target") }
            let connection = try await HTTPConnection(port: port, timeout: .seconds(60))
            let upgrade = try await connection.upgradeToWebSocket(path)
            guard upgrade.status == 101 else { throw HTTPTestClientError(message: "DevTools refused the WebSocket: \(upgrade.status)") }
            return DevTools(browser: browser, connection: connection)
        } catch {
            await Browser.close(browser)
            throw error
        }
    }

    func close() async {
        connection.close()
        await Browser.close(browser)
    }

    /// One command; its result (events in between are skipped: no domain is enabled).
    @discardableResult
    func send(_ method: String, _ parameters: [String: Any] = [:]) async throws -> [String: Any] {
        lastID += 1
        let id = lastID
        let message = try JSONSerialization.data(withJSONObject: ["id": id, "method": method, "params": parameters])
        try await connection.sendFrame(opcode: 1, payload: Array(message))
        while true {
            let frame = try await connection.nextFrame()
            guard frame.opcode == 1, let object = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any],
                object["id"] as? Int == id
            else { continue }
            if let error = object["error"] { throw HTTPTestClientError(message: "\(method): \(error)") }
            return object["result"] as? [String: Any] ?? [:]
        }
    }

    /// The JSON text of `expression`'s value (awaited when a promise), evaluated in the page.
    func evaluate(_ expression: String) async throws -> String {
        let result = try await send("Runtime.evaluate", [
            "expression": "(async () => JSON.stringify(await (\(expression)) ?? null))()", "awaitPromise": true, "returnByValue": true,
        ])
        if let exception = result["exceptionDetails"] { throw HTTPTestClientError(message: "\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"] as? String ?? "null"
    }

    /// Waits (bounded) until `expression` is true in the page.
    func waitFor(_ what: String, _ expression: String, seconds: Int = 15) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while try await evaluate("!!(\(expression))") != "true" {
            guard ContinuousClock.now < deadline else {
                let status = (try? await evaluate("document.querySelector('#status')?.textContent")) ?? "?"
                throw HTTPTestClientError(message: "timed out waiting for \(what) (\(expression)); the page's status: \(status)")
            }
            try await Task.sleep(for: .milliseconds(30))
        }
    }

    /// A left click at the centre of the element `selector` (scrolled into view first).
    func click(_ selector: String) async throws {
        try await waitFor("\(selector) to be shown", "(e => e && e.getClientRects().length > 0 && !e.disabled)(document.querySelector(\(quoted(selector))))")
        let point = try await evaluate("""
            (() => { const e = document.querySelector(\(quoted(selector))); e.scrollIntoView({block: "center"});
              const r = e.getBoundingClientRect(); return (r.x + r.width / 2) + " " + (r.y + r.height / 2); })()
            """)
        let xy = point.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).split(separator: " ").compactMap { Double($0) }
        guard xy.count == 2 else { throw HTTPTestClientError(message: "no position for \(selector): \(point)") }
        for type in ["mouseMoved", "mousePressed", "mouseReleased"] {
            try await send("Input.dispatchMouseEvent", ["type": type, "x": xy[0], "y": xy[1], "button": "left", "clickCount": type == "mouseMoved" ? 0 : 1])
        }
    }

    /// Clicks the field `selector`, selects what it holds, and types `text` over it (then Enter).
    func type(_ selector: String, _ text: String, enter: Bool = false) async throws {
        try await click(selector)
        try await send("Input.dispatchKeyEvent", ["type": "keyDown", "key": "a", "code": "KeyA", "modifiers": 2, "windowsVirtualKeyCode": 65, "commands": ["selectAll"]])
        try await send("Input.dispatchKeyEvent", ["type": "keyUp", "key": "a", "code": "KeyA", "modifiers": 2, "windowsVirtualKeyCode": 65])
        if text.isEmpty {
            try await key("Backspace", code: 8)
        } else {
            try await send("Input.insertText", ["text": text])
        }
        if enter { try await key("Enter", code: 13, text: "\r") }
    }

    func key(_ key: String, code: Int, text: String? = nil) async throws {
        var down: [String: Any] = ["type": "keyDown", "key": key, "code": key, "windowsVirtualKeyCode": code]
        if let text { down["text"] = text }
        try await send("Input.dispatchKeyEvent", down)
        try await send("Input.dispatchKeyEvent", ["type": "keyUp", "key": key, "code": key, "windowsVirtualKeyCode": code])
    }

    /// Picks `value` in the `<select>` `selector` as the keyboard would on the focused select:
    /// its native popup is no page content to click in headless mode (WebDriver's Select sets
    /// the option the same way). Then the input and change events the page listens to.
    func choose(_ selector: String, _ value: String) async throws {
        try await waitFor("\(selector) to be shown", "document.querySelector(\(quoted(selector)))")
        let chosen = try await evaluate("""
            (() => { const e = document.querySelector(\(quoted(selector))); e.focus(); e.value = \(quoted(value));
              e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true}));
              return e.value === \(quoted(value)); })()
            """)
        guard chosen == "true" else { throw HTTPTestClientError(message: "\(selector) has no option \(value)") }
    }

    /// A PNG of the viewport, written to `path`.
    func screenshot(_ path: String) async throws {
        let result = try await send("Page.captureScreenshot", ["format": "png"])
        guard let base64 = result["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw HTTPTestClientError(message: "no screenshot")
        }
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// `text` as a JavaScript string literal.
    func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}
