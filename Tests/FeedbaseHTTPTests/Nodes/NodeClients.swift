// The clients of the multi-node tests: writers that move tasks in and out of a band, the log as
// `/_changes` pages it, and the firehose (`/_feed` as Server-Sent Events) read into events.

import FeedbaseTestSupport
import Foundation
import Testing

/// One event, reduced to what every transport must agree on: seq, collection, op, id and item.
func eventKey(_ event: [String: Any]) -> String {
    let item = (try? canonical(event["item"] ?? NSNull())) ?? "?"
    return "\(event["seq"] ?? "?") \(event["collection"] ?? "?") \(event["op"] ?? "?") \(event["id"] ?? "?") \(item)"
}

/// The log after `since` through `through`, from `/_changes` pages on `port`.
func readLog(port: Int, since: Int, through: Int) async throws -> [[String: Any]] {
    var events: [[String: Any]] = []
    var after = since
    for _ in 0..<10_000 where after < through {
        let page = try await HTTP.request(port: port, "GET", "/_changes?since=\(after)&limit=1000")
        guard page.status == 200, let object = try JSONSerialization.jsonObject(with: Data(page.body)) as? [String: Any],
            let changes = object["changes"] as? [[String: Any]], let last = object["last_seq"] as? Int
        else { throw HTTPTestClientError(message: "/_changes: \(page.status) \(page.text)") }
        events += changes.filter { ($0["seq"] as? Int ?? 0) <= through }
        guard last > after else { throw HTTPTestClientError(message: "/_changes stopped at \(after) of \(through)") }
        after = last
    }
    return events
}

/// `GET /_feed` as Server-Sent Events on `port`, after `lastEventID` (sent as `Last-Event-ID`,
/// as an EventSource resumes).
func followFeed(port: Int, lastEventID: Int, timeout: Duration = .seconds(30)) async throws -> EventStreamReader {
    let connection = try await HTTPConnection(port: port, timeout: timeout)
    try await connection.write("GET", "/_feed", headers: [("Accept", "text/event-stream"), ("Last-Event-ID", String(lastEventID))])
    let head = try await connection.readHead()
    guard head.status == 200 else {
        connection.close()
        throw HTTPTestClientError(message: "/_feed refused: \(head.status)")
    }
    return EventStreamReader(connection)
}

/// The change events of a firehose until one with seq `through` or beyond (`ready` and
/// `progress` skipped; any other message, such as `reset`, is an error: a gap the client was
/// told of is still a gap here).
func readFeed(_ reader: EventStreamReader, through: Int) async throws -> [[String: Any]] {
    var events: [[String: Any]] = []
    var last = Int.min
    while last < through {
        let message = try await reader.next()
        switch message.event {
        case "change":
            events.append(message.data)
            last = message.data["seq"] as? Int ?? Int.max
        case "ready", "progress": continue
        default: throw HTTPTestClientError(message: "the feed said \(message.event): \(message.data)")
        }
    }
    return events
}

/// A writer of tasks through one node: creates (done or not), PATCHes that flip `done` (a task
/// enters or leaves the band `done=eq.false`) or change the title, and DELETEs, chosen by a
/// seeded generator among the tasks it created itself. Every write changes its row (a PATCH that
/// changes nothing logs no event, by design), so each one has exactly one event; anything but the
/// expected status is a failure, named with the seed.
struct TaskWriter {
    let label: String
    let seed: UInt64
    let projectID: Int

    func run(port: Int, writes: Int) async throws -> [String] {
        var random = SeededGenerator(seed: seed)
        var mine: [Int: Bool] = [:]  // id → done
        var failures: [String] = []
        for step in 0..<writes {
            let roll = mine.isEmpty ? 0 : Int.random(in: 0..<10, using: &random)
            let response: HTTPResponse
            let expected: Int
            switch roll {
            case 0...3:
                let done = Bool.random(using: &random)
                let body = #"{"project_id":\#(projectID),"title":"\#(label) \#(step)","done":\#(done),"priority":\#(Int.random(in: 1...5, using: &random))}"#
                response = try await HTTP.request(port: port, "POST", "/tasks", headers: [("Content-Type", "application/json")], body: body)
                expected = 201
                if response.status == 201, let id = (try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])?["id"] as? Int {
                    mine[id] = done
                }
            case 4...7:
                let id = mine.keys.sorted().randomElement(using: &random) ?? 0
                let flip = Bool.random(using: &random), done = !(mine[id] ?? false)
                let body = flip ? #"{"done":\#(done)}"# : #"{"title":"\#(label) \#(step) renamed"}"#
                if flip { mine[id] = done }
                response = try await HTTP.request(port: port, "PATCH", "/tasks/\(id)", headers: [("Content-Type", "application/json")], body: body)
                expected = 200
            default:
                let id = mine.keys.sorted().randomElement(using: &random) ?? 0
                mine[id] = nil
                response = try await HTTP.request(port: port, "DELETE", "/tasks/\(id)")
                expected = 204
            }
            if response.status != expected {
                failures.append("\(label) seed \(seed) step \(step): \(response.status) (expected \(expected)) \(response.text)")
            }
        }
        return failures
    }
}
