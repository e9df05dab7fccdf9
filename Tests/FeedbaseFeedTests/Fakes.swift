// An in-memory change log and recording sinks: the hub driven without SQLite or sockets. The
// log follows ChangeSource's contract independently of the SQLite store (pages bounded by
// count and bytes, `reached`, pruning from the front), and can be told to fail.

import FeedbaseFeed
import FeedbaseModel
import FeedbaseSQLite
import Synchronization

struct InjectedFailure: Error {}

final class MemoryLog: ChangeSource {
    private struct State {
        var events: [ChangeEvent] = []
        var head: Int64 = 0
        var failing = false
        var observers: [@Sendable () -> Void] = []
        /// The bytes of every page handed out with events, largest first.
        var largestPage = 0
    }
    private let state = Mutex(State())

    /// Appends `count` events (to `collection`, each `size` bytes of JSON), as one commit.
    /// `notify` false is a commit by another process: the hub hears of it only when it polls.
    func commit(_ count: Int, collection: String = "tasks", size: Int = 16, notify: Bool = true) {
        let observers = state.withLock { state in
            for _ in 0..<count {
                state.head += 1
                let prefix = Array(#"{"seq":\#(state.head),"p":""#.utf8)
                let json = prefix + Array(repeating: UInt8(ascii: "x"), count: max(0, size - prefix.count - 2)) + Array(#""}"#.utf8)
                state.events.append(ChangeEvent(seq: state.head, collection: collection, json: json))
            }
            return notify ? state.observers : []
        }
        for observer in observers { observer() }
    }

    /// Appends events built by the caller (given each one's seq), as one commit.
    func commit(built: [(collection: String, json: (Int64) -> [UInt8], previous: [UInt8]?)]) {
        let observers = state.withLock { state in
            for event in built {
                state.head += 1
                state.events.append(ChangeEvent(seq: state.head, collection: event.collection, json: event.json(state.head), previous: event.previous))
            }
            return state.observers
        }
        for observer in observers { observer() }
    }

    /// Deletes every event up to `seq`.
    func prune(through seq: Int64) {
        state.withLock { $0.events.removeAll { $0.seq <= seq } }
    }

    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }
    var head: Int64 { state.withLock { $0.head } }
    var largestPage: Int { state.withLock { $0.largestPage } }

    func changes(after seq: Int64, collections: Set<String>?, limit: Int, maxBytes: Int) async throws -> ChangeBatch {
        try state.withLock { state in
            if state.failing { throw InjectedFailure() }
            let oldest = state.events.first?.seq ?? state.head + 1
            let matching = state.events.filter { $0.seq > seq && (collections?.contains($0.collection) ?? true) }
            var page: [ChangeEvent] = []
            var bytes = 0
            for event in matching {
                if page.count >= limit || bytes >= maxBytes { break }
                page.append(event)
                bytes += event.json.count
            }
            state.largestPage = max(state.largestPage, bytes)
            let complete = page.count == matching.count
            let reached = complete ? state.head : (page.last?.seq ?? seq)
            return ChangeBatch(events: page, head: state.head, oldest: oldest, reached: reached)
        }
    }

    func observeCommits(_ observer: @escaping @Sendable () -> Void) {
        state.withLock { $0.observers.append(observer) }
    }
}

/// A sink that records what the hub hands it; it refuses a batch once it holds `capacity`
/// events that the test has not drained (as a transport's full buffer would).
final class RecordingSink: FeedSink {
    struct State {
        var seqs: [Int64] = []
        var messages: [[UInt8]] = []
        var band: String?
        var pending = 0
        var largestBatchBytes = 0
        var ready: Int64?
        var closed: FeedCloseReason?
    }
    let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = .max) { self.capacity = capacity }

    func send(_ batch: EventBatch) -> Bool {
        state.withLock { state in
            guard state.closed == nil else { return false }
            if state.pending + batch.events.count > capacity { return false }
            state.pending += batch.events.count
            state.seqs += batch.events.map(\.seq)
            state.messages += batch.events.map(\.json)
            state.largestBatchBytes = max(state.largestBatchBytes, batch.events.reduce(0) { $0 + $1.json.count })
            return true
        }
    }

    func ready(seq: Int64) { state.withLock { $0.ready = seq } }
    func subscribed(band name: String) { state.withLock { $0.band = name } }
    func close(_ reason: FeedCloseReason) { state.withLock { $0.closed = $0.closed ?? reason } }

    var seqs: [Int64] { state.withLock { $0.seqs } }
    var messages: [[UInt8]] { state.withLock { $0.messages } }
    var band: String? { state.withLock { $0.band } }
    var closed: FeedCloseReason? { state.withLock { $0.closed } }
    var ready: Int64? { state.withLock { $0.ready } }
}

struct ConditionTimedOut: Error, CustomStringConvertible {
    let description: String
}

/// Waits until `condition` holds, checking every millisecond, for at most `timeout`.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(30), _ condition: () async -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        guard ContinuousClock.now < deadline else { throw ConditionTimedOut(description: "timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(1))
    }
}
