// The server's metrics registry: one Prometheus registry per app, never a process-wide one.
//
// `MetricsSystem.bootstrap` may run once per process, and a test process starts many servers
// whose counters must not mix (each test checks its own server's against the requests it sent).
// So nothing here bootstraps: each app makes a `ServerMetrics`, and every module that records
// takes its `factory` explicitly, creating its swift-metrics handles (`Counter(label:dimensions:
// factory:)`) once, at startup or at a label set's first use, never per event. `--no-metrics`
// hands out swift-metrics' no-op factory instead: the same code records into nothing.
//
// Values that are a state rather than a stream of events (the writer's queue depth) are read by
// collectors run at scrape time, so the path that changes them does nothing extra.

import CoreMetrics
import Prometheus
import Synchronization

public final class ServerMetrics: Sendable {
    /// What every module makes its handles from: the app's Prometheus registry, or a no-op.
    public let factory: any MetricsFactory
    private let registry: PrometheusCollectorRegistry?
    /// Run before each scrape, in the order added (scrapes are rare: a lock is fine here).
    private let collectors = Mutex<[@Sendable () async -> Void]>([])

    /// Metrics into a registry of this app's own.
    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        // Sizes (a group commit's writes): powers of two up to the writer's largest group, 256.
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        self.registry = registry
        self.factory = factory
    }

    private init(disabled: Void) {
        registry = nil
        factory = NOOPMetricsHandler.instance
    }

    /// Records nothing and serves no `/metrics` (`--no-metrics`).
    public static var disabled: ServerMetrics { ServerMetrics(disabled: ()) }

    public var isEnabled: Bool { registry != nil }

    /// Adds work to do before every scrape (setting a gauge from a state read then).
    public func addCollector(_ collector: @escaping @Sendable () async -> Void) {
        collectors.withLock { $0.append(collector) }
    }

    /// The Prometheus text exposition format (version 0.0.4) of every metric, collectors run first.
    public func exposition() async -> [UInt8] {
        guard let registry else { return [] }
        for collector in collectors.withLock({ $0 }) { await collector() }
        return registry.emitToBuffer()
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Request latency: from 100 µs (a GET by id is well under a millisecond) to 10 s.
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .microseconds(2_500_000), .seconds(5), .seconds(10),
    ]
}
