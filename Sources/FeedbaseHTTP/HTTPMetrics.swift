// What the HTTP layer records: every answered request by its route's pattern (never the raw
// path: `/tasks/:id`, so the series are bounded by the routes, not by the ids clients send),
// method and status, with a latency histogram per route; authentication failures; requests
// refused by the rate limit; the requests being answered now.
//
// The hot path takes no registry lock and looks nothing up: each route's handles are made when
// the route is added, and its counter for a status is made at the status's first use and kept
// in a lock-free slot (an atomic lazy reference), so a request costs two atomic adds and the
// route's histogram lock (held for one bucket walk, shared only by requests of that route).

import Atomics
import CoreMetrics
import FeedbaseAuth
import NIOHTTP1

/// What the HTTP layer records into and serves: the app's swift-metrics factory and the text of
/// `/metrics` (FeedbaseMetrics' Prometheus registry renders it), or neither with `--no-metrics`.
/// The HTTP layer knows no metrics backend.
public struct MetricsExposition: Sendable {
    public let factory: any MetricsFactory
    /// The `Content-Type` of `render`'s text.
    public let contentType: String
    /// The metrics as a scrape reads them now; nil: no `/metrics` route.
    public let render: (@Sendable () async -> [UInt8])?

    public init(factory: any MetricsFactory, contentType: String, render: @escaping @Sendable () async -> [UInt8]) {
        self.factory = factory
        self.contentType = contentType
        self.render = render
    }

    private init() {
        factory = NOOPMetricsHandler.instance
        contentType = ""
        render = nil
    }

    /// Records nothing and serves no `/metrics`.
    public static var disabled: MetricsExposition { MetricsExposition() }
}

/// The HTTP layer's metric names; the engines' and the feed's are named in their modules
/// (WriterMetrics, FeedMetrics). docs/OPERATIONS.md, "Metrics", lists them all with their
/// labels and meaning.
enum MetricName {
    static let requests = "feedbase_http_requests_total"
    static let requestDuration = "feedbase_http_request_duration_seconds"
    static let requestsInFlight = "feedbase_http_requests_in_flight"
    static let authFailures = "feedbase_auth_failures_total"
    static let rateLimited = "feedbase_rate_limited_total"
}

/// One route's handles: `method` and `route` label every series.
public final class RouteMetrics: Sendable {
    let method: String
    let route: String
    private let factory: any MetricsFactory
    private let duration: CoreMetrics.Timer
    /// Status 100 to 599, each made at its first use.
    private let counters: [ManagedAtomicLazyReference<Counter>]

    init(method: String, route: String, factory: any MetricsFactory) {
        self.method = method
        self.route = route
        self.factory = factory
        duration = CoreMetrics.Timer(label: MetricName.requestDuration, dimensions: [("method", method), ("route", route)], factory: factory)
        counters = (100..<600).map { _ in ManagedAtomicLazyReference<Counter>() }
    }

    /// Counts one answered request and its time from arrival to the response's head.
    func record(_ status: HTTPResponseStatus, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        duration.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        let code = Int(status.code)
        guard (100..<600).contains(code) else { return }
        let slot = counters[code - 100]
        let counter = slot.load() ?? slot.storeIfNilThenLoad(
            Counter(label: MetricName.requests, dimensions: [("method", method), ("route", route), ("status", String(code))], factory: factory))
        counter.increment()
    }
}

/// The HTTP layer's handles, made from the app's factory.
public struct HTTPMetrics: Sendable {
    let factory: any MetricsFactory
    /// Requests no route matched (404, 405, a malformed path), by method: one route label for all.
    private let unmatched: [String: RouteMetrics]
    /// CORS preflights, answered before routing.
    let preflight: RouteMetrics
    let malformedCredentials: Counter
    let invalidCredentials: Counter
    let rateLimited: Counter
    /// Requests read and not yet answered (a stream counts until its head is sent).
    let inFlight: Meter

    /// The methods a label may name; any other is `OTHER` (a client picks the method: the
    /// label must not let it make series).
    static let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    public init(factory: any MetricsFactory) {
        self.factory = factory
        var unmatched: [String: RouteMetrics] = [:]
        for method in Self.methods + ["OTHER"] {
            unmatched[method] = RouteMetrics(method: method, route: "(unmatched)", factory: factory)
        }
        self.unmatched = unmatched
        preflight = RouteMetrics(method: "OPTIONS", route: "(preflight)", factory: factory)
        malformedCredentials = Counter(label: MetricName.authFailures, dimensions: [("reason", "malformed")], factory: factory)
        invalidCredentials = Counter(label: MetricName.authFailures, dimensions: [("reason", "invalid")], factory: factory)
        rateLimited = Counter(label: MetricName.rateLimited, dimensions: [], factory: factory)
        inFlight = Meter(label: MetricName.requestsInFlight, dimensions: [], factory: factory)
    }

    /// Records nothing.
    public static var none: HTTPMetrics { HTTPMetrics(factory: NOOPMetricsHandler.instance) }

    func route(_ method: HTTPMethod, _ segments: [Router<API.Endpoint>.Segment]) -> RouteMetrics {
        let pattern = "/" + segments.map { segment in
            switch segment {
            case .literal(let text): text
            case .parameter(let name): ":" + name
            }
        }.joined(separator: "/")
        return RouteMetrics(method: method.rawValue, route: pattern, factory: factory)
    }

    func unmatched(_ method: HTTPMethod) -> RouteMetrics {
        unmatched[method.rawValue] ?? unmatched["OTHER"] ?? preflight
    }

    func authenticationFailed(_ failure: AuthFailure) {
        switch failure {
        case .malformedHeader: malformedCredentials.increment()
        case .invalidToken: invalidCredentials.increment()
        }
    }
}
