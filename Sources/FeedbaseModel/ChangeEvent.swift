// The change log as every engine hands it to the feed: events in seq order, each with its JSON
// as bytes, and the log's bounds from the same snapshot.

public struct ChangeEvent: Sendable, Equatable {
    public var seq: Int64
    public var collection: String
    /// `{"seq":…,"collection":…,"op":…,"id":…,"item":{…},"at":…}` as bytes.
    public var json: [UInt8]
    /// For an update, the item as it was before it (nil otherwise, and for updates logged
    /// before the log kept it): what tells a row leaving a filter from one changing inside it.
    public var previous: [UInt8]?

    /// What the event holds in memory.
    public var byteCount: Int { json.count + (previous?.count ?? 0) }

    public init(seq: Int64, collection: String, json: [UInt8], previous: [UInt8]? = nil) {
        self.seq = seq
        self.collection = collection
        self.json = json
        self.previous = previous
    }
}

public struct ChangeBatch: Sendable {
    public var events: [ChangeEvent]
    /// The highest seq ever assigned (0 when none), in the same snapshot as `events`.
    public var head: Int64
    /// The lowest seq still retained; `head + 1` when the log is empty.
    public var oldest: Int64
    /// The seq up to which this batch covers the log: `head` when it holds every event after
    /// the seq asked for, else the seq of its last event (a page cut short by its limits).
    public var reached: Int64

    public init(events: [ChangeEvent], head: Int64, oldest: Int64, reached: Int64) {
        self.events = events
        self.head = head
        self.oldest = oldest
        self.reached = reached
    }

    /// Whether events right after `seq` were pruned: a reader that has seen everything up to
    /// `seq` cannot continue without a gap. No arithmetic can overflow, whatever `seq` a client
    /// sends or the log holds.
    public func isPruned(after seq: Int64) -> Bool {
        let (next, overflow) = seq.addingReportingOverflow(1)
        return !overflow && next < oldest
    }
}
