// Open feed subscriptions and the credentials they were opened with. A subscription ends when
// its credentials stop holding: at its token's or key's expiry (one timer each, set for that
// moment) and when its API key is revoked (the key set is reloaded every 250 ms; when it
// changed, the app calls `recheck`, which looks at the subscriptions of API keys only). No
// subscription is polled: 10,000 idle subscribers cost nothing until something changes.

import FeedbaseAuth
import NIOCore
import Synchronization

public final class CredentialWatch: Sendable {
    private struct Entry {
        var identity: Identity
        var verifier: any CredentialVerifier
        var end: @Sendable () -> Void
        var expiry: Scheduled<Void>?
    }

    /// Subscriptions by a number of their own; one lock, taken at subscribe, unsubscribe and a
    /// key change.
    private let entries = Mutex<(next: Int, byID: [Int: Entry])>((0, [:]))

    public init() {}

    /// Watches `identity` until `unwatch`; calls `end` once (on `eventLoop` or the caller of
    /// `recheck`) when it stops holding. Nil for the anonymous, whose access never expires.
    func watch(
        _ identity: Identity, verifier: (any CredentialVerifier)?, on eventLoop: any EventLoop, end: @escaping @Sendable () -> Void
    ) -> Int? {
        guard let verifier, !identity.isAnonymous else { return nil }
        let id = entries.withLock { state in
            state.next += 1
            state.byID[state.next] = Entry(identity: identity, verifier: verifier, end: end)
            return state.next
        }
        if let expiresAt = identity.expiresAt { scheduleExpiry(id, at: expiresAt, on: eventLoop) }
        return id
    }

    func unwatch(_ id: Int?) {
        guard let id else { return }
        let entry = entries.withLock { $0.byID.removeValue(forKey: id) }
        entry?.expiry?.cancel()
    }

    /// After the API keys changed: ends the subscriptions whose key no longer holds.
    public func recheck(at now: Int64) {
        let ended = entries.withLock { state -> [Entry] in
            var ended: [Entry] = []
            for (id, entry) in state.byID {
                guard case .apiKey = entry.identity.credential, !entry.verifier.isValid(entry.identity, at: now) else { continue }
                ended.append(entry)
                state.byID[id] = nil
            }
            return ended
        }
        for entry in ended {
            entry.expiry?.cancel()
            entry.end()
        }
    }

    /// The longest single wait for an expiry: a far one (a key or `exp` in the year 2400, or
    /// `Int64.max`) is waited for a day at a time, since a timer that long cannot be expressed
    /// in nanoseconds.
    static let longestWait: Int64 = 86_400

    /// The wait before looking at credentials that expire at `expiresAt` (unix seconds), seen at
    /// `now` (unix milliseconds): until 10 ms past the expiry, at most `longestWait`, never
    /// negative, for any two values.
    static func wait(until expiresAt: Int64, nowMilliseconds now: Int64) -> TimeAmount {
        let longest = longestWait * 1000
        let (expiry, overflow) = expiresAt.multipliedReportingOverflow(by: 1000)
        let (remaining, past) = expiry.subtractingReportingOverflow(now)
        let milliseconds = overflow ? (expiresAt > 0 ? longest : 0) : past ? (expiry > now ? longest : 0) : min(max(0, remaining), longest)
        return .milliseconds(milliseconds + 10)
    }

    /// Fires at `expiresAt` (or a day later at most, then again); a verifier that still accepts
    /// the credentials after their expiry (clock skew leeway) gets another look a second later.
    private func scheduleExpiry(_ id: Int, at expiresAt: Int64, on eventLoop: any EventLoop) {
        let task = eventLoop.scheduleTask(in: Self.wait(until: expiresAt, nowMilliseconds: CredentialClock.nowMilliseconds())) { [self] in
            let now = CredentialClock.now()
            let entry = entries.withLock { state -> Entry? in
                guard let entry = state.byID[id] else { return nil }
                if entry.verifier.isValid(entry.identity, at: now) { return nil }
                state.byID[id] = nil
                return entry
            }
            if let entry {
                entry.end()
            } else if entries.withLock({ $0.byID[id] != nil }) {
                scheduleExpiry(id, at: expiresAt > now ? expiresAt : now + 1, on: eventLoop)
            }
        }
        entries.withLock { state in
            if state.byID[id] != nil { state.byID[id]?.expiry = task } else { task.cancel() }
        }
    }
}
