// An API key the Authenticator does not hold yet is looked for in the store before it is
// refused (a key made a moment ago by `feedbase keys create` works at once), and the look-ups
// of many unknown keys are shared and spaced, so made-up keys cannot become a load on the store.

import Foundation
import Synchronization
import Testing

@testable import FeedbaseAuth
import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct UnknownKeyTests {
    let clock = TestClock()

    @Test func aKeyMadeAfterTheLastReloadIsFoundAtOnce() async throws {
        let keys = Mutex<[StoredAPIKey]>([])
        let changes = Atomic(0)
        let auth = Authenticator(
            configuration: AuthConfiguration(), loadKeys: { keys.withLock { $0 } }, logger: quietLogger, now: { [clock] in clock.now },
            keysChanged: { changes.add(1, ordering: .relaxed) })
        #expect(await auth.refreshKeys() == false)
        let token = APIKeyToken.generate()
        keys.withLock { $0 = [StoredAPIKey(id: "k1", hash: APIKeyToken.hash(token), role: "user", subject: "s", createdAt: 0, expiresAt: nil, revokedAt: nil)] }
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)") == nil)
        #expect(await auth.authenticate(token: token).identity?.subject == "s")
        // The look-up changed the set: open subscriptions get their re-check.
        #expect(changes.load(ordering: .relaxed) == 1)
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)")?.identity?.subject == "s")
    }

    @Test func manyUnknownKeysShareSpacedLookUps() async throws {
        let loads = Atomic(0)
        let auth = Authenticator(
            configuration: AuthConfiguration(), loadKeys: {
                loads.add(1, ordering: .relaxed)
                return []
            }, logger: quietLogger, now: { [clock] in clock.now })
        #expect(await auth.refreshKeys() == false)
        let started = ContinuousClock.now
        await withTaskGroup(of: String?.self) { group in
            for _ in 0..<500 { group.addTask { await auth.authenticate(token: APIKeyToken.generate()).refusal } }
            for await refusal in group { #expect(refusal == "unknown or revoked API key") }
        }
        let elapsed = ContinuousClock.now - started
        let spacing = Authenticator.missReloadSpacing
        // One look-up per spacing at most, plus the first, beside the load above.
        let bound = 2 + Int(elapsed / spacing)
        #expect(loads.load(ordering: .relaxed) - 1 <= bound, "\(loads.load(ordering: .relaxed) - 1) look-ups in \(elapsed) for 500 unknown keys")
    }
}
