// One subscriber's cursor in the hub: what it follows (the firehose, some collections, or one
// band) and the seq up to which it has been handed everything due to it.

import FeedbaseModel

final class Subscription {
    let sink: any FeedSink
    let collections: Set<String>?
    /// A band subscription gets the band's messages (enter, leave, ...) instead of events.
    let entry: BandEntry?
    /// Every event up to here has been judged for this subscriber. A live band subscriber's is
    /// moved on only when something is sent to it; the hub's head stands for it otherwise.
    var lastSent: Int64
    var live = false
    /// The seq a band subscriber last received (an event, ready or progress), and when.
    var lastTold: Int64
    var toldAt = ContinuousClock.now

    init(sink: any FeedSink, collections: Set<String>?, entry: BandEntry?, lastSent: Int64) {
        self.entry = entry
        self.lastTold = lastSent
        self.sink = sink
        self.collections = entry.map { [$0.band.collection] } ?? collections
        self.lastSent = lastSent
    }

    var id: ObjectIdentifier { ObjectIdentifier(sink) }

    func follows(_ event: ChangeEvent) -> Bool { collections?.contains(event.collection) ?? true }

    /// What this subscriber is due of `events`: those after its cursor that it follows, as its
    /// band sees them.
    func due(_ events: [ChangeEvent]) -> [ChangeEvent] {
        let after = events.filter { $0.seq > lastSent && follows($0) }
        guard let entry else { return after }
        return after.compactMap { event in
            entry.band.message(for: event, name: entry.name).map { ChangeEvent(seq: event.seq, collection: event.collection, json: $0) }
        }
    }
}
