// Clients that follow a band on each transport, reduced to one shape for the band tests: a
// sequence of messages, each a kind (`change`, `ready`, `progress`, ...), a seq and its JSON.

import Foundation
import Testing

/// One message of a Server-Sent Events stream.
struct StreamMessage {
    var event: String
    var id: Int?
    var data: [String: Any]
}

/// Reads a Server-Sent Events response message by message.
final class EventStreamReader {
    let connection: HTTPConnection
    private var text = ""

    init(_ connection: HTTPConnection) { self.connection = connection }

    func next() async throws -> StreamMessage {
        while true {
            if let end = text.range(of: "\n\n") {
                let block = String(text[..<end.lowerBound])
                text = String(text[end.upperBound...])
                var fields: [String: String] = [:]
                for line in block.split(separator: "\n") {
                    guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { continue }
                    fields[String(line[..<colon])] = String(line[line.index(after: colon)...].drop { $0 == " " })
                }
                guard let event = fields["event"] else { continue }  // comments, retry
                let data = try JSONSerialization.jsonObject(with: Data((fields["data"] ?? "{}").utf8)) as? [String: Any] ?? [:]
                return StreamMessage(event: event, id: fields["id"].flatMap(Int.init), data: data)
            }
            guard let chunk = try await connection.nextChunk() else { throw HTTPTestClientError(message: "the stream ended") }
            text += String(decoding: chunk, as: UTF8.self)
        }
    }
}


enum BandTransport: String, CaseIterable, Sendable, CustomStringConvertible {
    case serverSentEvents = "sse"
    case webSocket = "websocket"
    case changes = "_changes"

    var description: String { rawValue }

    /// `headers`: the credentials (an Authorization header) the follower sends.
    func follow(port: Int, collection: String, query: String, since: Int, headers: [(String, String)] = []) async throws -> any BandFollower {
        switch self {
        case .serverSentEvents: try await EventStreamFollower(port: port, collection: collection, query: query, since: since, headers: headers)
        case .webSocket: try await WebSocketFollower(port: port, collection: collection, query: query, since: since, headers: headers)
        case .changes: ChangesFollower(port: port, collection: collection, query: query, since: since, headers: headers)
        }
    }
}

/// A band's messages, whatever the transport.
protocol BandFollower {
    /// The next message: its kind (`change` for the band's events), seq and JSON.
    func next() async throws -> (kind: String, seq: Int, data: [String: Any])
    func close()
}

/// `GET /{collection}?{query}&since=N` as `text/event-stream`.
final class EventStreamFollower: BandFollower {
    let stream: EventStreamReader

    init(port: Int, collection: String, query: String, since: Int, headers: [(String, String)] = []) async throws {
        let connection = try await HTTPConnection(port: port, timeout: .seconds(60))
        try await connection.write("GET", "/\(collection)?\(query)&since=\(since)", headers: [("Accept", "text/event-stream")] + headers)
        let head = try await connection.readHead()
        guard head.status == 200, head.header("Content-Type")?.hasPrefix("text/event-stream") == true else {
            throw HTTPTestClientError(message: "event stream refused: \(head.status)")
        }
        stream = EventStreamReader(connection)
    }

    func next() async throws -> (kind: String, seq: Int, data: [String: Any]) {
        let message = try await stream.next()
        let seq = message.data["seq"] as? Int ?? -1
        if message.event == "change" || message.event == "progress", message.id != seq {
            throw HTTPTestClientError(message: "id \(String(describing: message.id)) is not seq \(seq)")
        }
        return (message.event, seq, message.data)
    }

    func close() { stream.connection.close() }
}

/// A `mode=bands` WebSocket holding one band, subscribed with an id of the client's choice.
final class WebSocketFollower: BandFollower {
    let connection: HTTPConnection
    let id: String
    private var band: String?

    init(connection: HTTPConnection, id: String = "mine") {
        self.connection = connection
        self.id = id
    }

    init(port: Int, collection: String, query: String, since: Int, id: String = "mine", headers: [(String, String)] = []) async throws {
        connection = try await HTTPConnection(port: port, timeout: .seconds(60))
        self.id = id
        let head = try await connection.upgradeToWebSocket("/_feed?mode=bands", headers: headers)
        guard head.status == 101 else { throw HTTPTestClientError(message: "upgrade refused: \(head.status)") }
        try await subscribe(url: "/\(collection)?\(query)", since: since)
    }

    func subscribe(url: String, since: Int?) async throws {
        var message: [String: Any] = ["type": "subscribe", "id": id, "url": url]
        if let since { message["since"] = since }
        try await send(message)
    }

    func send(_ message: [String: Any]) async throws {
        try await connection.sendFrame(opcode: 1, payload: Array(try JSONSerialization.data(withJSONObject: message)))
    }

    /// The next text message as JSON (pings skipped); a close frame is an error.
    func nextJSON() async throws -> [String: Any] {
        while true {
            let frame = try await connection.nextFrame()
            if frame.opcode == 9 || frame.opcode == 10 { continue }
            guard frame.opcode == 1 else { throw HTTPTestClientError(message: "frame \(frame.opcode) (close \(frame.closeCode ?? 0))") }
            return try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any] ?? [:]
        }
    }

    func next() async throws -> (kind: String, seq: Int, data: [String: Any]) {
        let data = try await nextJSON()
        let seq = data["seq"] as? Int ?? -1
        guard let type = data["type"] as? String else {
            // A band's event: it names the band this socket was told about.
            guard let band, data["band"] as? String == band else { throw HTTPTestClientError(message: "an event of another band: \(data)") }
            return ("change", seq, data)
        }
        if type == "subscribed" { band = data["band"] as? String }
        guard type == "error" || data["id"] as? String == id else { throw HTTPTestClientError(message: "a message for another id: \(data)") }
        return (type, seq, data)
    }

    func close() { connection.close() }
}

/// `GET /_changes/{collection}?{query}&since=N&wait=`, one page after another: each change, then
/// the page's `last_seq` as progress.
final class ChangesFollower: BandFollower {
    let port: Int
    let path: String
    let headers: [(String, String)]
    private var since: Int
    private var pending: [(kind: String, seq: Int, data: [String: Any])] = []

    init(port: Int, collection: String, query: String, since: Int, headers: [(String, String)] = []) {
        self.port = port
        self.path = "/_changes/\(collection)?\(query)"
        self.since = since
        self.headers = headers
    }

    func next() async throws -> (kind: String, seq: Int, data: [String: Any]) {
        while pending.isEmpty {
            let page = try await HTTP.request(port: port, "GET", "\(path)&since=\(since)&limit=7&wait=5", headers: headers)
            guard page.status == 200, let object = try JSONSerialization.jsonObject(with: Data(page.body)) as? [String: Any],
                let changes = object["changes"] as? [[String: Any]], let last = object["last_seq"] as? Int
            else { throw HTTPTestClientError(message: "page: \(page.status) \(page.text)") }
            for change in changes { pending.append(("change", change["seq"] as? Int ?? -1, change)) }
            if last > since || !changes.isEmpty { pending.append(("progress", last, ["seq": last])) }
            since = last
        }
        return pending.removeFirst()
    }

    func close() {}
}

/// The oracles' check of one band: applies its messages to `copy` (ids to canonical items, the
/// snapshot at `since`) until the log's `endSeq`, and holds the copy equal to each REST view the test took
/// (`views`, ascending seqs) once the band has passed that view's seq, through `checkThrough`.
/// `vet` sees every change (its op and item) for the caller's own checks; a delete or leave of
/// an id the copy never held is recorded when `strictRemovals`.
func replayBand(
    _ stream: any BandFollower, copy: [String: String], since: Int, endSeq: Int, checkThrough: Int,
    views: [(seq: Int, items: [String: String])], context: String, strictRemovals: Bool = false,
    vet: (String, Any) -> Void = { _, _ in }
) async throws {
    var copy = copy
    var checked = 0
    func check(upTo seq: Int) {
        while checked < views.count && views[checked].seq <= seq {
            #expect(copy == views[checked].items, "\(context), at seq \(views[checked].seq)")
            checked += 1
        }
    }
    var last = since
    for _ in 0..<1000 where last < endSeq {
        let message = try await stream.next()
        switch message.kind {
        case "subscribed": continue
        case "ready", "progress":
            check(upTo: message.seq)
            last = max(last, message.seq)
        case "change":
            #expect(message.seq > last, "\(context): out of order")
            check(upTo: message.seq - 1)
            last = message.seq
            let id = message.data["id"] as? String ?? ""
            let item = message.data["item"] ?? NSNull()
            let op = message.data["op"] as? String ?? ""
            vet(op, item)
            switch op {
            case "create", "enter", "update": copy[id] = try canonical(item)
            case "delete", "leave":
                if strictRemovals { #expect(copy[id] != nil, "\(context): \(op) of \(id), a row it never held") }
                copy[id] = nil
            default: Issue.record("\(context): unknown op \(message.data)")
            }
        default:
            Issue.record("\(context): unexpected \(message.kind) \(message.data)")
        }
    }
    #expect(last >= endSeq, "\(context): stopped at \(last) of \(endSeq)")
    check(upTo: checkThrough)
    #expect(checked == views.count, "\(context): checked \(checked) of \(views.count) views")
    stream.close()
}
