// `GET /_ready`, apart from `GET /_health`: health says the process and its database answer (a
// restart would not help otherwise); readiness says this node should be sent traffic now. A load
// balancer or an orchestrator polls it, so it costs one cheap check of each part and writes
// nothing.

import FeedbaseFeed
import FeedbaseModel
import Synchronization

/// Whether the server has begun to stop. Set once, first thing in a stop, so that `/_ready`
/// turns 503 before the listening socket closes.
public final class Draining: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    public func begin() { flag.store(true, ordering: .relaxed) }

    public var isDraining: Bool { flag.load(ordering: .relaxed) }
}

enum Readiness {
    /// How long the hub may take to load what was committed before the check: far longer than
    /// a page read (well under a millisecond), so that only a hub that has fallen behind for
    /// real, or a node too loaded to keep up, turns the probe to 503.
    static let feedBound: Duration = .seconds(2)

    /// Ready when: not draining; the migrations applied (the server serves only after applying
    /// them, so always); a write could be committed (`isWritable`); and the feed's hub has
    /// loaded every event committed before the check, within `feedBound`. The first check that
    /// fails is the reason given.
    static func check(store: any ResourceStore, hub: ChangeHub?, draining: Draining) async -> Response {
        let reason: String? =
            if draining.isDraining {
                "the server is stopping"
            } else if await !store.isWritable() {
                "the database is not writable"
            } else if let hub, await !hub.isCaughtUp(within: feedBound) {
                "the feed has not caught up with the log"
            } else {
                nil
            }
        guard let reason else { return .json(.ok, Array(#"{"status":"ready"}"#.utf8)) }
        return .json(.serviceUnavailable, Array(#"{"status":"unavailable","reason":\#(JSONText.quote(reason))}"#.utf8))
    }
}
