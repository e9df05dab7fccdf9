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

    /// Fires at `expiresAt`; a verifier that still accepts the credentials then (clock skew
    /// leeway) gets another look a second later.
    private func scheduleExpiry(_ id: Int, at expiresAt: Int64, on eventLoop: any EventLoop) {
        let delay = max(0, expiresAt - CredentialClock.now())
        let task = eventLoop.scheduleTask(in: .seconds(delay) + .milliseconds(10)) { [self] in
            let entry = entries.withLock { state -> Entry? in
                guard let entry = state.byID[id] else { return nil }
                if entry.verifier.isValid(entry.identity, at: CredentialClock.now()) { return nil }
                state.byID[id] = nil
                return entry
            }
            if let entry {
                entry.end()
            } else if entries.withLock({ $0.byID[id] != nil }) {
                scheduleExpiry(id, at: CredentialClock.now() + 1, on: eventLoop)
            }
        }
        entries.withLock { state in
            if state.byID[id] != nil { state.byID[id]?.expiry = task } else { task.cancel() }
        }
    }
}
