// What the hub hands events to: a sink per subscription (a WebSocket subscription, an SSE
// stream, a test), the batches it shares, and why a subscription ends.

import FeedbaseModel
import Synchronization

/// Where a subscription's messages go (a WebSocket, an SSE stream, a test). Calls come from the
/// hub's actor, in order; implementations hand the bytes to their transport and return at once.
public protocol FeedSink: AnyObject, Sendable {
    /// Queues events; false when the sink's buffer is full (the hub then closes it as slow).
    func send(_ batch: EventBatch) -> Bool
    /// The backlog has been sent; live events follow.
    func ready(seq: Int64)
    /// The subscription is over; the sink closes its transport.
    func close(_ reason: FeedCloseReason)
    /// The log moved to `seq` without anything for this subscription: its resume point.
    func progress(seq: Int64)
    /// A band subscription was taken on; its messages carry the band's `name`. Called before
    /// anything is sent to the sink.
    func subscribed(band name: String)
    /// Whether the transport has gone (the hub then does not take the sink on).
    var isDisconnected: Bool { get }
    /// Whether a page of backlog may be handed over now: the transport has taken the pages
    /// handed before and can take more. A backlog is paced by this, not cut off by the sink's
    /// bound on what waits: the hub reads the next page only when the reader has kept up.
    var hasRoomForBacklog: Bool { get }
    /// Returns once `hasRoomForBacklog` may have become true, or the sink has closed.
    func waitForRoom() async
    /// Queues a page of backlog, handed over only when `hasRoomForBacklog` said so: it is not
    /// counted against the bound that cuts off a slow reader. False when the sink has closed.
    func sendBacklog(_ batch: EventBatch) -> Bool
}

extension FeedSink {
    public func progress(seq: Int64) {}
    public func subscribed(band name: String) {}
    public var isDisconnected: Bool { false }
    public var hasRoomForBacklog: Bool { true }
    public func waitForRoom() async {}
    public func sendBacklog(_ batch: EventBatch) -> Bool { send(batch) }
}

/// Events handed to sinks. The hub hands the same batch to every subscriber that takes all of it,
/// so a transport encodes it once for all of them (`encoded`) and they share the bytes.
public final class EventBatch: Sendable {
    public let events: [ChangeEvent]
    private let encodings = Mutex<[String: any Sendable]>([:])

    public init(_ events: [ChangeEvent]) {
        self.events = events
    }

    /// The batch encoded by `make`, made once per `key` (a transport's name) and then reused.
    public func encoded<Encoding: Sendable>(_ key: String, _ make: ([ChangeEvent]) -> Encoding) -> Encoding {
        if let cached = encodings.withLock({ $0[key] }) as? Encoding { return cached }
        let encoding = make(events)
        encodings.withLock { $0[key] = encoding }
        return encoding
    }
}

public enum FeedCloseReason: Sendable, Equatable {
    /// The sink fell behind; resume with `since = lastSent`.
    case slow(lastSent: Int64)
    /// Events after `since` were pruned: re-read via REST, then subscribe from the head.
    case reset(oldest: Int64)
    /// The log could not be read (the database failed); resume with `since = lastSent`.
    case failure(lastSent: Int64)
    /// The server is stopping.
    case shutdown
}
