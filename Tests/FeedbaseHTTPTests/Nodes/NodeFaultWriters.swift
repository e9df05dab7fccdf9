// Writers for the fault tests over several nodes, and the ledger their oracle reads. Each write
// carries a marker of its own (a create's or a PATCH's title, a DELETE's id), and ends
// acknowledged (the expected status came back) or unknown (the node died or its connection
// failed before an answer: it may or may not have committed). The oracle: every acknowledged
// write has exactly one event in the log, an unknown one at most one, and nothing else has any.

import FeedbaseTestSupport
import Foundation
import Synchronization
import Testing

final class FaultLedger: Sendable {
    struct State {
        var acknowledged: Set<String> = []
        var unknown: Set<String> = []
        var failures: [String] = []
        /// Nodes a test took down on purpose: an error from one of them is an unknown outcome,
        /// from any other a failure.
        var down: Set<Int> = []
    }
    let state = Mutex(State())

    var acknowledgedCount: Int { state.withLock { $0.acknowledged.count } }
    func markDown(_ port: Int) { state.withLock { _ = $0.down.insert(port) } }
    func markUp(_ port: Int) { state.withLock { _ = $0.down.remove(port) } }
    func isDown(_ port: Int) -> Bool { state.withLock { $0.down.contains(port) } }

    /// Checks the log (gap-free, from the test's start) against the ledger.
    func check(log: [[String: Any]], context: String) {
        var counts: [String: Int] = [:]
        for event in log where event["collection"] as? String == "tasks" {
            let op = event["op"] as? String ?? ""
            let marker = op == "delete" ? "delete \(event["id"] ?? "")" : ((event["item"] as? [String: Any])?["title"] as? String ?? "")
            counts[marker, default: 0] += 1
        }
        let (acknowledged, unknown, failures) = state.withLock { ($0.acknowledged, $0.unknown, $0.failures) }
        for failure in failures { Issue.record("\(context): \(failure)") }
        for marker in acknowledged where counts[marker] != 1 {
            Issue.record("\(context): the acknowledged write '\(marker)' has \(counts[marker] ?? 0) events")
        }
        for (marker, count) in counts where !acknowledged.contains(marker) && (!unknown.contains(marker) || count > 1) {
            Issue.record("\(context): '\(marker)' has \(count) events and was \(unknown.contains(marker) ? "unknown" : "never written")")
        }
    }
}

/// One writer: `writes` steps over `ports` (its own node first, the next one while that one is
/// down), each a create, a PATCH of the title or a DELETE of a task it created.
struct FaultWriter {
    let label: String
    let seed: UInt64
    let projectID: Int
    let ledger: FaultLedger

    func run(ports: [Int], writes: Int) async {
        var random = SeededGenerator(seed: seed)
        var mine: [Int] = []
        for step in 0..<writes {
            let port = ports.first { !ledger.isDown($0) } ?? ports[0]
            let roll = mine.isEmpty ? 0 : Int.random(in: 0..<10, using: &random)
            var method = "POST", target = "/tasks", expected = 201
            var body: String? = nil
            let marker: String
            switch roll {
            case 0...4:
                marker = "\(label) \(step)"
                body = #"{"project_id":\#(projectID),"title":"\#(marker)","done":\#(Bool.random(using: &random))}"#
            case 5...7:
                marker = "\(label) \(step) renamed"
                (method, target, expected) = ("PATCH", "/tasks/\(mine.randomElement(using: &random) ?? 0)", 200)
                body = #"{"title":"\#(marker)"}"#
            default:
                let id = mine.remove(at: Int.random(in: 0..<mine.count, using: &random))
                marker = "delete \(id)"
                (method, target, expected) = ("DELETE", "/tasks/\(id)", 204)
            }
            let wasDown = ledger.isDown(port)
            do {
                let response = try await HTTP.request(
                    port: port, method, target, headers: body == nil ? [] : [("Content-Type", "application/json")], body: body)
                if response.status == expected {
                    ledger.state.withLock { _ = $0.acknowledged.insert(marker) }
                    if method == "POST", let id = (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["id"] as? Int {
                        mine.append(id)
                    }
                } else if response.status == 503 || (response.status >= 500 && (wasDown || ledger.isDown(port))) {
                    // Refused cleanly while the database is away: nothing was written.
                    ledger.state.withLock { _ = $0.unknown.insert(marker) }
                } else {
                    ledger.state.withLock { $0.failures.append("\(label) seed \(seed) step \(step): \(method) \(target) → \(response.status) \(response.text)") }
                }
            } catch {
                ledger.state.withLock { state in
                    state.unknown.insert(marker)
                    if !state.down.contains(port) && !wasDown {
                        state.failures.append("\(label) seed \(seed) step \(step): \(method) \(target) on a node that is up: \(error)")
                    }
                }
            }
        }
    }
}

/// A band's copy as its follower keeps it: each message applied, the last seq seen.
struct BandCopy {
    var items: [String: String] = [:]
    var last: Int
    var problems: [String] = []

    mutating func apply(_ message: (kind: String, seq: Int, data: [String: Any])) throws {
        switch message.kind {
        case "subscribed": return
        case "ready", "progress": last = max(last, message.seq)
        case "change":
            if message.seq <= last { problems.append("change \(message.seq) after \(last)") }
            last = message.seq
            let id = message.data["id"] as? String ?? ""
            switch message.data["op"] as? String {
            case "create", "enter", "update": items[id] = try canonical(message.data["item"] ?? NSNull())
            default: items[id] = nil
            }
        default: problems.append("unexpected \(message.kind) \(message.data)")
        }
    }
}
