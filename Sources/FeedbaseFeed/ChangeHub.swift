// The fan-out hub: every subscriber is a cursor over one log.
//
// The hub reads new events from the store once per commit (not once per subscriber), keeps a
// bounded ring of the most recent ones, and hands each subscriber the events with
// `seq > lastSent` that match its filter, in order. A new or resuming subscriber first reads its
// backlog from the store in pages; it joins the live stream only once its cursor reaches the
// ring, inside the actor, so the switch from backlog to live can neither skip nor repeat an event:
// there is one rule, `seq > lastSent`, for both.
//
// Writers never wait for subscribers: a sink that cannot take more (its bounded buffer is full)
// is closed with its `lastSent`, from which it resumes. Memory is bounded in events and in bytes:
// the ring by `ringCapacity` and `ringBytes`, every page read from the log (live or backlog) by
// its count and `pageBytes`, and each sink by its own buffer.

import FeedbaseStore
import Logging
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
    /// Whether the transport has gone (the hub then does not take the sink on).
    var isDisconnected: Bool { get }
}

extension FeedSink {
    public func progress(seq: Int64) {}
    public var isDisconnected: Bool { false }
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

public struct FeedSettings: Sendable {
    /// How many recent events the hub keeps in memory for subscribers that are behind a little.
    public var ringCapacity = 4096
    /// The ring's bound in bytes of event JSON: a burst of large items keeps fewer of them.
    public var ringBytes = 8 << 20
    /// Events read from the log in one page when following commits.
    public var livePage = 1000
    /// Backlog page size when a subscriber resumes from the store.
    public var backlogPage = 500
    /// How often at most a band subscriber is told that the log moved past events that were
    /// not for it (`progress`), so that its resume point moves on.
    public var progressInterval: Duration = .seconds(2)
    /// Bytes of event JSON in one page (live or backlog): a page stops at the event that
    /// reaches it, so a page of 1 MiB items is a few items, not a thousand.
    public var pageBytes = 4 << 20
    public init() {}
}

public actor ChangeHub {
    private final class Subscription {
        let sink: any FeedSink
        let collections: Set<String>?
        /// A band subscription gets the band's messages (enter, leave, ...) instead of events.
        let band: Band?
        var lastSent: Int64
        var live = false
        /// The seq a band subscriber last received (an event or progress), and when it was told.
        var lastTold: Int64
        var toldAt = ContinuousClock.now

        init(sink: any FeedSink, collections: Set<String>?, band: Band?, lastSent: Int64) {
            self.band = band
            self.lastTold = lastSent
            self.sink = sink
            self.collections = collections
            self.lastSent = lastSent
        }

        func matches(_ event: ChangeEvent) -> Bool { collections?.contains(event.collection) ?? true }

        /// What this subscriber is due of `events`: those after its cursor that it follows, as
        /// its band sees them.
        func due(_ events: [ChangeEvent]) -> [ChangeEvent] {
            let after = events.filter { $0.seq > lastSent && matches($0) }
            guard let band else { return after }
            return Self.messages(after, band)
        }

        static func messages(_ events: [ChangeEvent], _ band: Band) -> [ChangeEvent] {
            events.compactMap { event in
                band.message(for: event).map { ChangeEvent(seq: event.seq, collection: event.collection, json: $0) }
            }
        }
    }

    private let source: any ChangeSource
    private let settings: FeedSettings
    private let logger: Logger
    private var ring: [ChangeEvent] = []
    private var ringBytes = 0
    /// The highest seq the hub has loaded (all events up to it are in the ring or were before it).
    public private(set) var head: Int64 = 0
    /// The oldest seq still in the store's log, as last seen.
    private var oldest: Int64 = 1
    private var subscriptions: [ObjectIdentifier: Subscription] = [:]
    private var loading = false
    private var loadAgain = false
    private var waiters: [Int: (after: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
    private var nextWaiter = 0
    private var started = false
    /// After `shutdown`: the store may be closed, so nothing reads it again.
    private var stopped = false
    private let poke = Poke()

    public init(source: any ChangeSource, settings: FeedSettings = FeedSettings(), logger: Logger) {
        self.source = source
        self.settings = settings
        self.logger = logger
    }

    /// Loads the head and starts following commits; call once before serving.
    public func start() async throws {
        guard !started else { return }
        started = true
        let batch = try await source.changes(after: 0, collections: nil, limit: 0, maxBytes: 0)  // head and oldest only
        head = max(head, batch.head)
        oldest = batch.oldest
        let poke = self.poke
        source.observeCommits { [weak self] in
            guard let self, poke.arm() else { return }
            Task {
                // Commits within a few milliseconds are delivered together: one write and one
                // flush per subscriber per batch instead of per commit (measured in bench/fanout.sh).
                try? await Task.sleep(for: .milliseconds(2))
                await self.advance()
            }
        }
    }

    public var subscriberCount: Int { subscriptions.count }

    /// Bytes of event JSON the ring holds.
    var retainedBytes: Int { ringBytes }

    /// Reads the events committed since the last call and delivers them. Concurrent calls
    /// coalesce: one load runs at a time and runs again if poked meanwhile.
    public func advance() async {
        poke.disarm()
        guard !stopped else { return }
        if loading {
            loadAgain = true
            return
        }
        loading = true
        defer { loading = false }
        repeat {
            loadAgain = false
            while true {
                let batch: ChangeBatch
                do {
                    batch = try await source.changes(after: head, collections: nil, limit: max(1, settings.livePage), maxBytes: max(1, settings.pageBytes))
                } catch {
                    fail(error)
                    return
                }
                oldest = batch.oldest
                if batch.isPruned(after: head) { skipPruned(batch) }
                keep(batch.events)
                deliver(batch.events)
                head = max(head, batch.reached)
                if batch.reached >= batch.head { break }
            }
            wakeWaiters()
            tellProgress()
        } while loadAgain
    }

    /// Appends to the ring, then drops its oldest events until it is within both bounds.
    private func keep(_ events: [ChangeEvent]) {
        ring += events
        ringBytes += events.reduce(0) { $0 + $1.byteCount }
        var drop = 0
        while drop < ring.count && (ring.count - drop > settings.ringCapacity || ringBytes > settings.ringBytes) {
            ringBytes -= ring[drop].byteCount
            drop += 1
        }
        if drop > 0 { ring.removeFirst(drop) }
    }

    /// The log could not be read: every subscriber is closed with the seq to resume from (it
    /// cannot be told what it missed), and the next `advance` tries again.
    private func fail(_ error: any Error) {
        logger.error("reading the change log failed; feed subscribers closed", metadata: [
            "error": "\(error)", "subscribers": "\(subscriptions.count)",
        ])
        for subscription in subscriptions.values { subscription.sink.close(.failure(lastSent: subscription.lastSent)) }
        subscriptions = [:]
    }

    /// Events after `head` were pruned before the hub loaded them: the ring no longer joins the
    /// log, and every subscriber that has not seen them must re-read (reset) instead of skipping them.
    private func skipPruned(_ batch: ChangeBatch) {
        ring = []
        ringBytes = 0
        let oldest = batch.oldest
        for (id, subscription) in subscriptions where batch.isPruned(after: subscription.lastSent) {
            subscriptions[id] = nil
            subscription.sink.close(.reset(oldest: oldest))
        }
    }

    private func deliver(_ events: [ChangeEvent]) {
        guard let firstEvent = events.first, let lastEvent = events.last else { return }
        let all = EventBatch(events)
        // A band's messages are made once per batch for all its subscribers that take all of it.
        var bands: [Band: EventBatch] = [:]
        for (id, subscription) in subscriptions where subscription.live {
            // Most subscribers take the whole batch: they share one batch (and its encoding).
            let takesAll = subscription.lastSent < firstEvent.seq
            let batch: EventBatch
            if let band = subscription.band, takesAll {
                if let shared = bands[band] {
                    batch = shared
                } else {
                    batch = EventBatch(Subscription.messages(events.filter { $0.collection == band.collection }, band))
                    bands[band] = batch
                }
            } else if takesAll && subscription.collections == nil {
                batch = all
            } else {
                batch = EventBatch(subscription.due(events))
            }
            if !batch.events.isEmpty && !subscription.sink.send(batch) {
                subscriptions[id] = nil
                subscription.sink.close(.slow(lastSent: subscription.lastSent))
                continue
            }
            subscription.lastSent = max(subscription.lastSent, lastEvent.seq)
            if let last = batch.events.last { subscription.lastTold = max(subscription.lastTold, last.seq) }
        }
        tellProgress()
    }

    /// Band subscribers whose cursor moved past events that were not for them hear of it, at
    /// most once per `progressInterval` (the hub's poll calls `advance` often enough for the
    /// last one to go out within that interval plus a poll).
    private func tellProgress() {
        let now = ContinuousClock.now
        for subscription in subscriptions.values where subscription.live && subscription.band != nil {
            guard subscription.lastSent > subscription.lastTold, now - subscription.toldAt >= settings.progressInterval else { continue }
            subscription.sink.progress(seq: subscription.lastSent)
            subscription.lastTold = subscription.lastSent
            subscription.toldAt = now
        }
    }

    /// Subscribes `sink` from `since` (nil: from now). Returns at once; the backlog is sent by
    /// a task, then `ready`, then live events.
    public func subscribe(_ sink: any FeedSink, since: Int64?, collections: Set<String>?, band: Band? = nil) async {
        await advance()
        guard !stopped else {
            sink.close(.shutdown)
            return
        }
        // A client that left while this call waited: its unsubscribe may already have run.
        guard !sink.isDisconnected else { return }
        let subscription = Subscription(
            sink: sink, collections: band.map { [$0.collection] } ?? collections, band: band, lastSent: since ?? head)
        subscriptions[ObjectIdentifier(sink)] = subscription
        Task { await self.catchUp(subscription) }
    }

    public func unsubscribe(_ sink: any FeedSink) {
        subscriptions[ObjectIdentifier(sink)] = nil
    }

    private func catchUp(_ subscription: Subscription) async {
        let id = ObjectIdentifier(subscription.sink)
        // Whether the log has been read after lastSent: until then the hub's head may lag a
        // commit the client has seen, and the events after lastSent may have been pruned.
        var checked = false
        while subscriptions[id] === subscription {
            // Live once everything after lastSent is in the ring (or there is nothing after it).
            let ringCovers = ring.first.map { subscription.lastSent >= $0.seq - 1 } ?? false
            if ringCovers || (checked && subscription.lastSent >= head) {
                // Switch to live here, in one step of the actor.
                let due = subscription.due(ring)
                if !due.isEmpty && !subscription.sink.send(EventBatch(due)) {
                    subscriptions[id] = nil
                    subscription.sink.close(.slow(lastSent: subscription.lastSent))
                    return
                }
                subscription.lastSent = max(subscription.lastSent, head)
                subscription.live = true
                subscription.lastTold = subscription.lastSent
                subscription.sink.ready(seq: subscription.lastSent)
                return
            }
            let from = subscription.lastSent
            let batch: ChangeBatch
            do {
                batch = try await source.changes(
                    after: from, collections: subscription.collections, limit: max(1, settings.backlogPage), maxBytes: max(1, settings.pageBytes))
            } catch {
                if subscriptions[id] === subscription {
                    logger.error("reading the change log failed; a feed subscriber closed", metadata: ["error": "\(error)"])
                    subscriptions[id] = nil
                    subscription.sink.close(.failure(lastSent: subscription.lastSent))
                }
                return
            }
            guard subscriptions[id] === subscription else { return }
            checked = true
            if batch.isPruned(after: from) {
                subscriptions[id] = nil
                subscription.sink.close(.reset(oldest: batch.oldest))
                return
            }
            let due = subscription.band.map { Subscription.messages(batch.events, $0) } ?? batch.events
            if !due.isEmpty && !subscription.sink.send(EventBatch(due)) {
                subscriptions[id] = nil
                subscription.sink.close(.slow(lastSent: subscription.lastSent))
                return
            }
            subscription.lastSent = max(subscription.lastSent, batch.reached)
            if batch.head > head { await advance() }
        }
    }

    /// Waits until the hub has loaded an event after `seq`, or `timeout` passes.
    public func waitForChange(after seq: Int64, timeout: Duration) async {
        if head > seq { return }
        let id = nextWaiter
        nextWaiter += 1
        await withCheckedContinuation { continuation in
            waiters[id] = (seq, continuation)
            Task {
                try? await Task.sleep(for: timeout)
                self.expire(id)
            }
        }
    }

    private func expire(_ id: Int) {
        waiters.removeValue(forKey: id)?.continuation.resume()
    }

    private func wakeWaiters() {
        for (id, waiter) in waiters where waiter.after < head {
            waiters[id] = nil
            waiter.continuation.resume()
        }
    }

    /// Closes every subscription (the server is stopping) and releases long-polls.
    public func shutdown() {
        stopped = true
        for subscription in subscriptions.values { subscription.sink.close(.shutdown) }
        subscriptions = [:]
        for waiter in waiters.values { waiter.continuation.resume() }
        waiters = [:]
    }
}

/// Coalesces commit notifications from the writer thread into one pending `advance`.
final class Poke: Sendable {
    private let armed = Mutex(false)

    /// True when this call armed it (the caller schedules the advance).
    func arm() -> Bool { armed.withLock { armed in defer { armed = true }; return !armed } }
    func disarm() { armed.withLock { $0 = false } }
}
