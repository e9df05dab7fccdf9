// The subscribers of the kill test, one per transport (WebSocket, Server-Sent Events, /_changes
// long-poll). Each follows the feed from seq 0 across every kill: when its connection breaks it
// resumes on the next server with `since` = the last seq it received, and it records every event
// it got, in order. What is only a broken connection (a kill, a timeout, a close) is resumed; an
// answer that a correct server never gives (a refusal, a reset, a seq out of order) ends the
// subscriber with a failure.

import Foundation
import Synchronization

enum FeedTransport: String, Sendable, CaseIterable {
    case webSocket = "WebSocket", serverSentEvents = "SSE", longPoll = "/_changes"
}

/// One change event as the oracle compares it: which write it is, by its marker.
struct FeedEvent: Sendable, Equatable, CustomStringConvertible {
    var seq: Int
    var collection: String
    var op: String
    var id: String
    var marker: String

    init(seq: Int, collection: String, op: String, id: String, marker: String) {
        (self.seq, self.collection, self.op, self.id, self.marker) = (seq, collection, op, id, marker)
    }

    init?(_ json: Any?) {
        guard let json = json as? [String: Any], let seq = json["seq"] as? Int, let collection = json["collection"] as? String,
              let op = json["op"] as? String, let id = json["id"] as? String, let item = json["item"] as? [String: Any],
              let marker = (item["title"] ?? item["name"]) as? String else { return nil }
        self.init(seq: seq, collection: collection, op: op, id: id, marker: marker)
    }

    var description: String { "#\(seq) \(op) \(collection)/\(id) '\(marker)'" }
}

/// A protocol violation: ends the subscriber.
struct FeedFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What one subscriber received, and when it may stop.
final class FeedRecord: Sendable {
    let transport: FeedTransport
    private struct State {
        var events: [FeedEvent] = []
        var resumes = 0
        /// How the server ended sessions on its own (WebSocket close codes, SSE end events).
        var endings: [String: Int] = [:]
        var failure: String?
        /// Set at the end: the head seq to reach, and by when.
        var target: (seq: Int, deadline: ContinuousClock.Instant)?
    }
    private let state = Mutex(State())

    init(_ transport: FeedTransport) { self.transport = transport }

    var events: [FeedEvent] { state.withLock { $0.events } }
    var resumes: Int { state.withLock { $0.resumes } }
    var endings: [String: Int] { state.withLock { $0.endings } }
    var failure: String? { state.withLock { $0.failure } }

    func finish(at seq: Int, within: Duration) { state.withLock { $0.target = (seq, ContinuousClock.now + within) } }

    fileprivate func append(_ event: FeedEvent) throws {
        try state.withLock { state in
            let last = state.events.last?.seq ?? 0
            guard event.seq > last else { throw FeedFailure("\(transport.rawValue): \(event) after #\(last)") }
            state.events.append(event)
        }
    }

    /// Whether the subscriber is done: it reached the target, or failed to within its deadline.
    fileprivate func isDone() -> Bool {
        state.withLock { state in
            guard state.failure == nil, let target = state.target else { return state.failure != nil }
            if (state.events.last?.seq ?? 0) >= target.seq { return true }
            if ContinuousClock.now > target.deadline {
                state.failure = "\(transport.rawValue): stopped at #\(state.events.last?.seq ?? 0), short of the head #\(target.seq)"
                return true
            }
            return false
        }
    }

    fileprivate func resumed() { state.withLock { $0.resumes += 1 } }
    fileprivate func ended(_ how: String) { state.withLock { $0.endings[how, default: 0] += 1 } }
    fileprivate func fail(_ message: String) { state.withLock { $0.failure = $0.failure ?? message } }
}

struct KillSubscriber {
    let server: KilledServer
    let record: FeedRecord

    /// Follows the feed until `record` is done, resuming after every broken connection.
    func follow() async {
        for session in 0..<100_000 {
            if record.isDone() { return }
            // Every session after the first is a resume, whatever ended the one before.
            if session > 0 { record.resumed() }
            let since = record.events.last?.seq ?? 0
            let served: Served
            do { served = try await server.up() } catch is RunFinished { return } catch {
                record.fail("\(record.transport.rawValue): \(error)")
                return
            }
            do {
                switch record.transport {
                case .webSocket: try await webSocket(served, since: since)
                case .serverSentEvents: try await serverSentEvents(served, since: since)
                case .longPoll: try await longPoll(served, since: since)
                }
            } catch let failure as FeedFailure {
                record.fail(failure.description)
                return
            } catch {
                continue  // a broken connection: resume
            }
        }
        record.fail("\(record.transport.rawValue): 100,000 resumes")
    }

    private func webSocket(_ served: Served, since: Int) async throws {
        let connection = try await HTTPConnection(port: served.port, timeout: .seconds(3))
        defer { connection.close() }
        let head = try await connection.upgradeToWebSocket("/_feed?since=\(since)")
        guard head.status == 101 else { throw FeedFailure("WebSocket: resuming since=\(since) was answered \(head.status) \(head.text)") }
        while !record.isDone() {
            for frame in try await connection.nextFrames() {
                guard try take(frame, since: since) else { return }
            }
        }
    }

    /// Records a WebSocket frame's event; false when it is the server's close.
    private func take(_ frame: HTTPConnection.Frame, since: Int) throws -> Bool {
        switch frame.opcode {
        case 1:
            let message = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any]
            switch message?["type"] as? String {
            case nil:
                guard let event = FeedEvent(message) else { throw FeedFailure("WebSocket: not an event: \(frame.text)") }
                try record.append(event)
            case "ready", "progress": break
            default: throw FeedFailure("WebSocket: since=\(since): \(frame.text)")
            }
            return true
        case 8:
            // Too slow (4408) or the server's failure (1011) are resumed; a reset (4410) is a gap.
            if frame.closeCode == 4410 { throw FeedFailure("WebSocket: reset since=\(since)") }
            record.ended(frame.closeCode.map(String.init) ?? "close")
            return false
        default: return true  // pings: the heartbeat is longer than any wait here
        }
    }

    private func serverSentEvents(_ served: Served, since: Int) async throws {
        let connection = try await HTTPConnection(port: served.port, timeout: .seconds(3))
        defer { connection.close() }
        try await connection.write("GET", "/_feed?since=\(since)", headers: [("Accept", "text/event-stream")])
        let head = try await connection.readHead()
        guard head.status == 200 else { throw FeedFailure("SSE: resuming since=\(since) was answered \(head.status)") }
        var text = ""
        while !record.isDone() {
            guard let chunk = try await connection.nextChunk() else { return }
            text += String(decoding: chunk, as: UTF8.self)
            while let end = text.range(of: "\n\n") {
                let message = String(text[..<end.lowerBound])
                text = String(text[end.upperBound...])
                var fields: [String: String] = [:]
                for line in message.split(separator: "\n") {
                    guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { continue }
                    fields[String(line[..<colon])] = String(line[line.index(after: colon)...].drop { $0 == " " })
                }
                switch fields["event"] {
                case "change":
                    let json = try fields["data"].map { try JSONSerialization.jsonObject(with: Data($0.utf8)) }
                    guard let event = FeedEvent(json), fields["id"] == String(event.seq) else { throw FeedFailure("SSE: not an event: \(message)") }
                    try record.append(event)
                case "overflow", "failure":
                    record.ended(fields["event"] ?? "")
                    return
                case "reset": throw FeedFailure("SSE: reset since=\(since)")
                default: continue  // ready, progress, comments
                }
            }
        }
    }

    private func longPoll(_ served: Served, since first: Int) async throws {
        let connection = try await HTTPConnection(port: served.port, timeout: .seconds(5))
        defer { connection.close() }
        var since = first
        while !record.isDone() {
            let response = try await connection.request("GET", "/_changes?since=\(since)&limit=300&wait=1")
            guard response.status == 200 else { throw FeedFailure("/_changes?since=\(since): \(response.status) \(response.text)") }
            guard let page = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                  let changes = page["changes"] as? [Any], let last = page["last_seq"] as? Int else {
                throw FeedFailure("/_changes?since=\(since): \(response.text)")
            }
            for change in changes {
                guard let event = FeedEvent(change) else { throw FeedFailure("/_changes: not an event: \(change)") }
                try record.append(event)
            }
            since = last
        }
    }
}
