// Requests per identity over time: a token bucket per API key, per JWT subject, and per client
// address for the anonymous. Past its rate an identity gets 429 with Retry-After; the others do
// not notice. The buckets live in one map behind a lock: a request takes it once, for a few
// arithmetic steps, and the map is swept of idle (full) buckets when it grows large.

import FeedbaseAuth
import FeedbaseModel
import NIOCore
import Synchronization

public final class RateLimiter: Sendable {
    /// Requests per second, sustained.
    public let rate: Double
    /// Requests at once after a quiet spell.
    public let burst: Double

    private struct Bucket {
        var tokens: Double
        var updated: NIODeadline
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    /// Buckets kept before a sweep drops the full ones.
    private static let sweepAt = 100_000

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
    }

    /// Nil when the request may go on; else the seconds after which one more would.
    func admit(_ key: String, now: NIODeadline = .now()) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            let elapsed = Double((now - bucket.updated).nanoseconds) / 1e9
            bucket.tokens = min(burst, bucket.tokens + max(0, elapsed) * rate)
            bucket.updated = now
            defer {
                buckets[key] = bucket
                if buckets.count > Self.sweepAt { sweep(&buckets, now: now) }
            }
            guard bucket.tokens >= 1 else { return Self.retryAfter((1 - bucket.tokens) / rate) }
            bucket.tokens -= 1
            return nil
        }
    }

    /// The longest `Retry-After`, in seconds: a day. A tiny rate (`1e-19` per second) would
    /// otherwise ask for more seconds than an Int holds.
    static let longestRetryAfter = 86_400

    /// Whole seconds, at least 1 and at most `longestRetryAfter`, for any wait (NaN included).
    static func retryAfter(_ seconds: Double) -> Int {
        guard seconds > 1 else { return 1 }
        guard seconds < Double(longestRetryAfter) else { return longestRetryAfter }
        return Int(seconds.rounded(.up))
    }

    private func sweep(_ buckets: inout [String: Bucket], now: NIODeadline) {
        let refill = burst / rate
        buckets = buckets.filter { Double((now - $0.value.updated).nanoseconds) / 1e9 < refill }
    }

    /// The answer past the rate: 429, with the seconds to wait in `Retry-After` and in words.
    func problem(retryAfter seconds: Int, what: String = "requests") -> Problem {
        let perSecond = rate == rate.rounded() ? String(Int(rate)) : String(rate)
        var problem = Problem(.tooManyRequests, "too many \(what): at most \(perSecond) per second (bursts of \(Int(burst))); retry after \(seconds) s")
        problem.headers.add(name: "Retry-After", value: String(seconds))
        return problem
    }

    /// Whose bucket a request draws on.
    static func key(_ identity: Identity, address: String?) -> String {
        switch identity.credential {
        case .apiKey(let id): "key:" + id
        case .jwt: "jwt:" + identity.role + ":" + (identity.subject ?? "")
        case .anonymous: "address:" + (address ?? "")
        }
    }
}
