// The hub on its own, over an in-memory log: every subscriber gets each event after its since
// exactly once and in order across the switch from backlog to live (randomized, many seeds),
// resets after a prune, the slow-sink cut-off, a failing log, and the byte bounds.

@testable import FeedbaseFeed
import FeedbaseModel
import FeedbaseSQLite
import FeedbaseTestSupport
import Logging
import Testing

private func makeHub(_ log: MemoryLog, _ configure: (inout FeedSettings) -> Void = { _ in }) async throws -> ChangeHub {
    var settings = FeedSettings()
    configure(&settings)
    var logger = Logger(label: "feedbase-feed-test")
    logger.logLevel = .critical
    let hub = ChangeHub(source: log, settings: settings, logger: logger)
    try await hub.start()
    return hub
}

@Suite struct ChangeHubTests {
    @Test(arguments: 1...40)
    func everySubscriberGetsEachEventAfterItsSinceOnceInOrder(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let log = MemoryLog()
        // Small pages and a small ring, so that subscribers cross the backlog/live switch often.
        let hub = try await makeHub(log) {
            $0.ringCapacity = Int.random(in: 2...20, using: &random)
            $0.backlogPage = Int.random(in: 1...7, using: &random)
            $0.livePage = Int.random(in: 1...9, using: &random)
        }
        log.commit(Int.random(in: 0...30, using: &random), collection: "a")
        var subscribers: [(sink: RecordingSink, since: Int64, collections: Set<String>?)] = []
        for _ in 0..<40 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<4:
                log.commit(Int.random(in: 1...5, using: &random), collection: Bool.random(using: &random) ? "a" : "b")
            case 4..<6:
                await hub.advance()
            default:
                let sink = RecordingSink()
                let since = Int64.random(in: 0...log.head, using: &random)
                let collections: Set<String>? = Bool.random(using: &random) ? nil : ["b"]
                await hub.subscribe(sink, since: since, collections: collections)
                subscribers.append((sink, since, collections))
            }
            if Bool.random(using: &random) { await Task.yield() }
        }
        let final = log.head
        try await waitUntil("every subscriber to reach \(final) (seed \(seed))", timeout: .seconds(60)) {
            await hub.advance()
            let head = await hub.head
            return subscribers.allSatisfy { $0.sink.ready != nil } && head == final
        }
        // The oracle: the log's own events, filtered; nothing was pruned, so each must be complete.
        let all = try await log.changes(after: 0, collections: nil, limit: .max, maxBytes: .max).events
        for (index, subscriber) in subscribers.enumerated() {
            let expected = all.filter { $0.seq > subscriber.since && (subscriber.collections?.contains($0.collection) ?? true) }.map(\.seq)
            try await waitUntil("subscriber \(index) to get its events (seed \(seed))", timeout: .seconds(60)) { subscriber.sink.seqs.count >= expected.count }
            #expect(subscriber.sink.seqs == expected, "seed \(seed), subscriber \(index) since \(subscriber.since)")
            #expect(subscriber.sink.closed == nil, "seed \(seed)")
        }
    }

    @Test func aSubscriberWhoseEventsWerePrunedIsReset() async throws {
        let log = MemoryLog()
        // A ring of two: a resume from further back reads the log (a ring that still held the
        // pruned events would rightly serve them).
        let hub = try await makeHub(log) { $0.ringCapacity = 2 }
        log.commit(10)
        await hub.advance()
        log.prune(through: 6)
        let behind = RecordingSink()
        await hub.subscribe(behind, since: 3, collections: nil)
        try await waitUntil("the reset") { behind.closed != nil }
        #expect(behind.closed == .reset(oldest: 7))
        #expect(behind.seqs.isEmpty)
        // One that has seen everything up to the prune goes on as usual.
        let current = RecordingSink()
        await hub.subscribe(current, since: 6, collections: nil)
        try await waitUntil("the live switch") { current.ready != nil }
        log.commit(1)
        try await waitUntil("the next event") { current.seqs == [7, 8, 9, 10, 11] }
    }

    @Test func eventsPrunedBeforeTheHubLoadedThemResetLiveSubscribers() async throws {
        let log = MemoryLog()
        let hub = try await makeHub(log)
        let live = RecordingSink()
        await hub.subscribe(live, since: 0, collections: nil)
        try await waitUntil("the live switch") { live.ready != nil }
        // Written and pruned by another process between two polls: the hub never saw 1...5.
        log.commit(5, notify: false)
        log.prune(through: 5)
        log.commit(1, notify: false)
        await hub.advance()
        try await waitUntil("the reset") { live.closed != nil }
        #expect(live.closed == .reset(oldest: 6))
        #expect(live.seqs.isEmpty)
    }

    @Test func aSlowSinkIsCutOffWithItsLastSentAndOthersGoOn() async throws {
        let log = MemoryLog()
        let hub = try await makeHub(log)
        let slow = RecordingSink(capacity: 3)
        let fast = RecordingSink()
        await hub.subscribe(slow, since: 0, collections: nil)
        await hub.subscribe(fast, since: 0, collections: nil)
        try await waitUntil("both live") { slow.ready != nil && fast.ready != nil }
        log.commit(2)
        try await waitUntil("the first two") { slow.seqs == [1, 2] && fast.seqs == [1, 2] }
        log.commit(2)
        try await waitUntil("the cut-off") { slow.closed != nil && fast.seqs.count == 4 }
        #expect(slow.closed == .slow(lastSent: 2))
        #expect(await hub.subscriberCount == 1)
        log.commit(1)
        try await waitUntil("the fast one to go on") { fast.seqs == [1, 2, 3, 4, 5] }
    }

    @Test func aFailingLogClosesSubscribersWithTheirResumePoint() async throws {
        let log = MemoryLog()
        let hub = try await makeHub(log) { $0.ringCapacity = 1 }
        let live = RecordingSink()
        await hub.subscribe(live, since: 0, collections: nil)
        try await waitUntil("live") { live.ready != nil }
        log.commit(3)
        try await waitUntil("three events") { live.seqs == [1, 2, 3] }
        log.setFailing(true)
        log.commit(2)
        await hub.advance()
        #expect(live.closed == .failure(lastSent: 3))
        // A backlog read that fails (the ring holds only 3) closes that subscriber the same way.
        let resuming = RecordingSink()
        await hub.subscribe(resuming, since: 1, collections: nil)
        try await waitUntil("the backlog failure") { resuming.closed != nil }
        #expect(resuming.closed == .failure(lastSent: 1))
        // Once the log reads again, a subscriber resumes from where it was told, losing nothing.
        log.setFailing(false)
        let again = RecordingSink()
        await hub.subscribe(again, since: 3, collections: nil)
        try await waitUntil("the resumed events") { again.seqs == [4, 5] }
        #expect(again.closed == nil)
    }

    @Test func aBurstOfLargeItemsIsBoundedInBytes() async throws {
        let log = MemoryLog()
        let megabyte = 1 << 20
        let hub = try await makeHub(log) {
            $0.ringBytes = 8 * megabyte
            $0.pageBytes = 4 * megabyte
        }
        let live = RecordingSink()
        await hub.subscribe(live, since: 0, collections: nil)
        try await waitUntil("live") { live.ready != nil }
        for _ in 0..<10 { log.commit(10, size: megabyte) }  // 100 MiB in all
        try await waitUntil("the burst") { live.seqs.count == 100 }
        #expect(live.seqs == Array(1...100))
        // A page stops at the event that reaches 4 MiB; the ring keeps at most 8 MiB.
        #expect(log.largestPage <= 4 * megabyte + megabyte)
        #expect(live.state.withLock { $0.largestBatchBytes } <= 4 * megabyte + megabyte)
        #expect(await hub.retainedBytes <= 8 * megabyte)
        // A subscriber resuming from the start reads its backlog in pages of the same bound.
        let resuming = RecordingSink()
        await hub.subscribe(resuming, since: 0, collections: nil)
        try await waitUntil("the backlog") { resuming.seqs.count == 100 }
        #expect(resuming.seqs == Array(1...100))
        #expect(resuming.state.withLock { $0.largestBatchBytes } <= 8 * megabyte)
    }

    @Test func shutdownClosesEverySubscriber() async throws {
        let log = MemoryLog()
        let hub = try await makeHub(log)
        let sinks = (0..<3).map { _ in RecordingSink() }
        for sink in sinks { await hub.subscribe(sink, since: nil, collections: nil) }
        try await waitUntil("all live") { sinks.allSatisfy { $0.ready != nil } }
        await hub.shutdown()
        #expect(sinks.allSatisfy { $0.closed == .shutdown })
        #expect(await hub.subscriberCount == 0)
    }
}
