// What the hub records: its subscribers and bands (gauges set by the actor as they change, so
// they are exact at any scrape), the events it loads from the log, the deliveries it hands to
// sinks, and the slow consumers it cuts off. Through swift-metrics' API with handles made once
// from the app's factory: an atomic add per batch on the hub's path, no lock, no lookup.

import CoreMetrics

public struct FeedMetrics: Sendable {
    /// `feedbase_feed_subscribers{kind="firehose"}`: `/_feed` and `/_changes`-style streams of every change.
    let firehoseSubscribers: Meter
    /// `{kind="band"}`: subscriptions to a live query.
    let bandSubscribers: Meter
    /// `feedbase_feed_bands`: distinct live queries (collection, filter, select) with subscribers.
    let bands: Meter
    /// `feedbase_feed_events_total`: change events the hub read from the log as they were committed.
    let events: Counter
    /// `feedbase_feed_deliveries_total`: events handed to subscribers (live and backlog), one per subscriber.
    let deliveries: Counter
    /// `feedbase_feed_slow_consumers_total`: subscribers cut off because their buffer was full.
    let slowConsumers: Counter

    public init(factory: any MetricsFactory) {
        firehoseSubscribers = Meter(label: "feedbase_feed_subscribers", dimensions: [("kind", "firehose")], factory: factory)
        bandSubscribers = Meter(label: "feedbase_feed_subscribers", dimensions: [("kind", "band")], factory: factory)
        bands = Meter(label: "feedbase_feed_bands", dimensions: [], factory: factory)
        events = Counter(label: "feedbase_feed_events_total", dimensions: [], factory: factory)
        deliveries = Counter(label: "feedbase_feed_deliveries_total", dimensions: [], factory: factory)
        slowConsumers = Counter(label: "feedbase_feed_slow_consumers_total", dimensions: [], factory: factory)
        // Present from the first scrape, not from the first subscriber.
        firehoseSubscribers.set(0)
        bandSubscribers.set(0)
        bands.set(0)
    }

    /// Records nothing.
    public static var none: FeedMetrics { FeedMetrics(factory: NOOPMetricsHandler.instance) }

    /// Called by the hub after every change to its subscriptions.
    func counted(subscriptions: Int, firehose: Int, bands: Int) {
        firehoseSubscribers.set(firehose)
        bandSubscribers.set(subscriptions - firehose)
        self.bands.set(bands)
    }
}
