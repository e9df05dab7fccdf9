// The hub's settings (its memory bounds, page sizes, band limits) and the small latch that
// coalesces commit notifications into one pending load.

import Synchronization

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
    public var progressInterval: Duration = .seconds(5)
    /// Bytes of event JSON in one page (live or backlog): a page stops at the event that
    /// reaches it, so a page of 1 MiB items is a few items, not a thousand.
    public var pageBytes = 4 << 20
    /// Distinct bands (collection, filter and select) with subscribers at once; a subscription
    /// to one more is refused.
    public var maxBands = 100_000
    public init() {}
}

/// Coalesces commit notifications from the writer thread into one pending `advance`.
final class Poke: Sendable {
    private let armed = Mutex(false)

    /// True when this call armed it (the caller schedules the advance).
    func arm() -> Bool { armed.withLock { armed in defer { armed = true }; return !armed } }
    func disarm() { armed.withLock { $0 = false } }
}
