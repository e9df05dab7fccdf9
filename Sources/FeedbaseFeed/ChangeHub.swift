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
// is closed with its `lastSent`, from which it resumes. A backlog is different: it is read page
// by page at the pace the sink's transport takes it (`hasRoomForBacklog`), so a reader that
// keeps up is never cut off by its own backlog, nor by another one sharing its socket. Memory
// is bounded in events and in bytes: the ring by `ringCapacity` and `ringBytes`, every page read
// from the log (live or backlog) by its count and `pageBytes`, and each sink by its own buffer
// plus the one backlog page it was handed.

import FeedbaseModel
import Logging
import Synchronization

public actor ChangeHub {
    let source: any ChangeSource
    private let settings: FeedSettings
    private let logger: Logger
    private var ring: [ChangeEvent] = []
    private var ringBytes = 0
    /// The highest seq the hub has loaded (all events up to it are in the ring or were before it).
    public private(set) var head: Int64 = 0
    /// The oldest seq still in the store's log, as last seen.
    private var oldest: Int64 = 1
    /// Every subscription, by sink.
    private var subscriptions: [ObjectIdentifier: Subscription] = [:]
    /// The subscriptions that are not to a band.
    private var firehose: [ObjectIdentifier: Subscription] = [:]
    /// The distinct bands with subscriptions, each with its own.
    private var bands: [Band: BandEntry] = [:]
    private var bandIndex = BandIndex()
    private var bandsNamed = 0
    private var progressScannedAt = ContinuousClock.now
    private var loading = false
    private var loadAgain = false
    /// Calls of `advance` that came while a load ran, with the number of that load's round:
    /// each is resumed when a round that began after it is done.
    private var loadWaiters: [(round: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var loadRound = 0
    /// Long-polls waiting for a change (ChangeHub+Waiting.swift).
    var waiters: [Int: (after: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
    var nextWaiter = 0
    private var started = false
    /// After `shutdown`: the store may be closed, so nothing reads it again.
    private(set) var stopped = false
    private let poke = Poke()

    private let metrics: FeedMetrics

    public init(source: any ChangeSource, settings: FeedSettings = FeedSettings(), metrics: FeedMetrics = .none, logger: Logger) {
        self.source = source
        self.settings = settings
        self.metrics = metrics
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
            // No wait: commits that land while a load runs are read together by the next one
            // (one write per subscriber per batch), and an idle hub delivers at once.
            Task { await self.advance() }
        }
    }

    public var subscriberCount: Int { subscriptions.count }

    /// Bytes of event JSON the ring holds.
    var retainedBytes: Int { ringBytes }

    /// Reads the events committed since the last call and delivers them. Concurrent calls
    /// coalesce: one load runs at a time and runs again if poked meanwhile; a call returns when
    /// what was committed before it is loaded. So a subscriber taken on after `advance` finds
    /// every event committed before it in its backlog, which is paced by its transport, and not
    /// in live deliveries that are bounded by the slow-consumer limit (a burst of large rows
    /// another program wrote just before would otherwise cut it off).
    public func advance() async {
        poke.disarm()
        guard !stopped else { return }
        if loading {
            loadAgain = true
            await withCheckedContinuation { loadWaiters.append((loadRound, $0)) }
            return
        }
        loading = true
        defer {
            loading = false
            resumeLoadWaiters(before: .max)
        }
        repeat {
            loadAgain = false
            loadRound += 1
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
                metrics.events.increment(by: batch.events.count)
                deliver(batch.events)
                head = max(head, batch.reached)
                if batch.reached >= batch.head { break }
            }
            wakeWaiters()
            tellProgress()
            // Not only at the end: under a steady stream of commits the rounds may go on.
            resumeLoadWaiters(before: loadRound)
        } while loadAgain
    }

    private func resumeLoadWaiters(before round: Int) {
        guard !loadWaiters.isEmpty else { return }
        let done = loadWaiters.filter { $0.round < round }
        loadWaiters.removeAll { $0.round < round }
        for waiter in done { waiter.continuation.resume() }
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
        // A read cut short by the stop (the store closes after `shutdown`) is no failure: the
        // subscribers were closed with `.shutdown` already.
        guard !stopped else { return }
        logger.error("reading the change log failed; feed subscribers closed", metadata: [
            "error": "\(error)", "subscribers": "\(subscriptions.count)",
        ])
        for subscription in subscriptions.values {
            remove(subscription)
            subscription.sink.close(.failure(lastSent: position(of: subscription)))
        }
    }

    /// Events after `head` were pruned before the hub loaded them: the ring no longer joins the
    /// log, and every subscriber that has not seen them must re-read (reset) instead of skipping them.
    private func skipPruned(_ batch: ChangeBatch) {
        ring = []
        ringBytes = 0
        for subscription in subscriptions.values where batch.isPruned(after: position(of: subscription)) {
            remove(subscription)
            subscription.sink.close(.reset(oldest: batch.oldest))
        }
    }

    /// The seq up to which a subscriber has been handed everything due to it. A live band
    /// subscriber has been judged on every event the hub delivered, sent or not.
    private func position(of subscription: Subscription) -> Int64 {
        subscription.live && subscription.entry != nil ? max(subscription.lastSent, head) : subscription.lastSent
    }

    private func remove(_ subscription: Subscription) {
        let id = subscription.id
        guard subscriptions[id] === subscription else { return }
        defer { countSubscriptions() }
        subscriptions[id] = nil
        firehose[id] = nil
        guard let entry = subscription.entry else { return }
        entry.subscribers[id] = nil
        if entry.subscribers.isEmpty {
            bands[entry.band] = nil
            bandIndex.remove(entry)
        }
    }

    /// The subscription gauges, after any change to the subscriptions.
    private func countSubscriptions() {
        metrics.counted(subscriptions: subscriptions.count, firehose: firehose.count, bands: bands.count)
    }

    /// Hands `batch` (what `subscription` is due of events up to `last`) to the sink, or closes
    /// a sink that cannot take it. False when it was closed.
    /// `backlog`: a page of a catching-up subscriber's backlog, handed when the sink had room.
    private func hand(_ batch: EventBatch, to subscription: Subscription, through last: Int64, backlog: Bool = false) -> Bool {
        if !batch.events.isEmpty && !(backlog ? subscription.sink.sendBacklog(batch) : subscription.sink.send(batch)) {
            let resumeFrom = position(of: subscription)
            remove(subscription)
            subscription.sink.close(.slow(lastSent: resumeFrom))
            metrics.slowConsumers.increment()
            return false
        }
        metrics.deliveries.increment(by: batch.events.count)
        subscription.lastSent = max(subscription.lastSent, last)
        if let sent = batch.events.last { subscription.lastTold = max(subscription.lastTold, sent.seq) }
        return true
    }

    private func deliver(_ events: [ChangeEvent]) {
        guard let firstEvent = events.first, let lastEvent = events.last else { return }
        // Most subscribers take the whole batch (their cursor is before it): they share one
        // batch, and a transport encodes it once for all of them.
        let all = EventBatch(events)
        for subscription in firehose.values where subscription.live {
            let takesAll = subscription.lastSent < firstEvent.seq && subscription.collections == nil
            _ = hand(takesAll ? all : EventBatch(subscription.due(events)), to: subscription, through: lastEvent.seq)
        }
        guard !bands.isEmpty else { return }
        // Each band's messages are made once, for the bands the index finds for each event;
        // subscribers of bands with nothing in this batch are not visited.
        var messages: [ObjectIdentifier: (entry: BandEntry, events: [ChangeEvent])] = [:]
        for event in events {
            bandIndex.messages(for: event) { entry, message in
                messages[ObjectIdentifier(entry), default: (entry, [])].events.append(
                    ChangeEvent(seq: event.seq, collection: event.collection, json: message))
            }
        }
        for (entry, bandEvents) in messages.values {
            let shared = EventBatch(bandEvents)
            for subscription in entry.subscribers.values where subscription.live {
                let takesAll = subscription.lastSent < firstEvent.seq
                _ = hand(takesAll ? shared : EventBatch(bandEvents.filter { $0.seq > subscription.lastSent }), to: subscription, through: lastEvent.seq)
            }
        }
    }

    /// Tells band subscribers the progress that is due without reading the log. The hub tells
    /// progress after each load; a node that loads only when the log moves (PostgreSQL's, woken
    /// by its watcher) calls this on a timer, or the progress due after the last load of a burst
    /// (held back by `progressInterval`) would wait for the next commit, which may never come.
    public func reportProgress() {
        guard !stopped else { return }
        tellProgress()
    }

    /// Band subscribers whose cursor moved past events that were not for them hear of it, at
    /// most once per `progressInterval` (the hub's poll calls `advance` often enough for the
    /// last one to go out within that interval plus a poll). The subscribers are scanned a few
    /// times per interval, not on every commit.
    private func tellProgress() {
        let now = ContinuousClock.now
        guard !bands.isEmpty, now - progressScannedAt >= settings.progressInterval / 4 else { return }
        progressScannedAt = now
        for entry in bands.values {
            for subscription in entry.subscribers.values where subscription.live {
                let position = self.position(of: subscription)
                guard position > subscription.lastTold, now - subscription.toldAt >= settings.progressInterval else { continue }
                subscription.sink.progress(seq: position)
                subscription.lastSent = position
                subscription.lastTold = position
                subscription.toldAt = now
            }
        }
    }

    /// What came of a subscribe call.
    public enum Subscribed: Sendable, Equatable {
        /// Subscribed; a band subscription's messages carry the band's `name`.
        case subscribed(band: String?)
        /// The band would be one more than `FeedSettings.maxBands`.
        case tooManyBands(limit: Int)
        /// The hub is stopping (the sink was closed) or the sink is gone.
        case closed
    }

    /// Whether a subscription to `band` would be taken now (it has subscribers, or there is
    /// room for one more distinct band).
    public func admits(_ band: Band) -> Bool {
        bands[band] != nil || bands.count < settings.maxBands
    }

    /// Subscribes `sink` from `since` (nil: from now). Returns at once; the backlog is sent by
    /// a task, then `ready`, then live events.
    @discardableResult
    public func subscribe(_ sink: any FeedSink, since: Int64?, collections: Set<String>?, band: Band? = nil) async -> Subscribed {
        await advance()
        guard !stopped else {
            sink.close(.shutdown)
            return .closed
        }
        // A client that left while this call waited: its unsubscribe may already have run.
        guard !sink.isDisconnected else { return .closed }
        // A sink subscribing again replaces its subscription (removed first: it may have been
        // its band's last).
        if let old = subscriptions[ObjectIdentifier(sink)] { remove(old) }
        var entry: BandEntry?
        if let band {
            if let existing = bands[band] {
                entry = existing
            } else {
                guard bands.count < settings.maxBands else { return .tooManyBands(limit: settings.maxBands) }
                bandsNamed += 1
                let created = BandEntry(band: band, name: "b\(bandsNamed)")
                bands[band] = created
                bandIndex.insert(created)
                entry = created
            }
        }
        let subscription = Subscription(sink: sink, collections: collections, entry: entry, lastSent: since ?? head)
        subscriptions[subscription.id] = subscription
        if let entry {
            entry.subscribers[subscription.id] = subscription
            sink.subscribed(band: entry.name)
        } else {
            firehose[subscription.id] = subscription
        }
        countSubscriptions()
        Task { await self.catchUp(subscription) }
        return .subscribed(band: entry?.name)
    }

    public func unsubscribe(_ sink: any FeedSink) {
        if let subscription = subscriptions[ObjectIdentifier(sink)] { remove(subscription) }
    }

    /// How many distinct bands have subscribers.
    public var bandCount: Int { bands.count }

    private func catchUp(_ subscription: Subscription) async {
        let id = subscription.id
        // Whether the log has been read after lastSent: until then the hub's head may lag a
        // commit the client has seen, and the events after lastSent may have been pruned.
        var checked = false
        while subscriptions[id] === subscription {
            // The backlog goes at the pace the reader takes it: the next page is read only once
            // the sink has sent what it was handed (several backlogs may share one socket).
            guard subscription.sink.hasRoomForBacklog else {
                await subscription.sink.waitForRoom()
                continue
            }
            // Live once everything after lastSent is in the ring (or there is nothing after it).
            let ringCovers = ring.first.map { subscription.lastSent >= $0.seq - 1 } ?? false
            if ringCovers || (checked && subscription.lastSent >= head) {
                // Switch to live here, in one step of the actor.
                guard hand(EventBatch(subscription.due(ring)), to: subscription, through: head, backlog: true) else { return }
                subscription.live = true
                subscription.lastTold = subscription.lastSent
                subscription.toldAt = ContinuousClock.now
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
                    remove(subscription)
                    subscription.sink.close(.failure(lastSent: subscription.lastSent))
                }
                return
            }
            guard subscriptions[id] === subscription else { return }
            checked = true
            if batch.isPruned(after: from) {
                remove(subscription)
                subscription.sink.close(.reset(oldest: batch.oldest))
                return
            }
            // The page waits for room too (another backlog on the socket may have taken it
            // meanwhile); what it holds stays due, as nothing else moves a catching-up cursor.
            while !subscription.sink.hasRoomForBacklog {
                await subscription.sink.waitForRoom()
                guard subscriptions[id] === subscription else { return }
            }
            guard hand(EventBatch(subscription.due(batch.events)), to: subscription, through: batch.reached, backlog: true) else { return }
            if batch.head > head { await advance() }
        }
    }

    /// Closes every subscription (the server is stopping) and releases long-polls.
    public func shutdown() {
        stopped = true
        for subscription in subscriptions.values {
            remove(subscription)
            subscription.sink.close(.shutdown)
        }
        for waiter in waiters.values { waiter.continuation.resume() }
        waiters = [:]
    }
}
