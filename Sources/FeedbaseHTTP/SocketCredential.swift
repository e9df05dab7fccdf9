// The credential of one feed WebSocket, which the client may replace in place with
// `{"type":"auth","token":"..."}` (a JWT refreshed before it expires, another user signing in):
// the socket's identity, and the CredentialWatch entry that ends the socket when that identity
// stops holding. Replacing it re-watches the new identity; WebSocketBands re-judges the bands.

import FeedbaseAuth
import NIOCore
import Synchronization

final class SocketCredential: Sendable {
    private struct State {
        var identity: Identity
        var watch: Int?
        var stopped = false
    }

    private let state: Mutex<State>
    private let credentialWatch: CredentialWatch
    private let verifier: (any CredentialVerifier)?
    private let eventLoop: any EventLoop
    private let end: @Sendable () -> Void

    /// `end` is called once when the identity in force expires or its key is revoked.
    init(_ identity: Identity, api: API, eventLoop: any EventLoop, end: @escaping @Sendable () -> Void) {
        credentialWatch = api.credentialWatch
        verifier = api.verifier
        self.eventLoop = eventLoop
        self.end = end
        state = Mutex(State(identity: identity))
        let watch = credentialWatch.watch(identity, verifier: verifier, on: eventLoop, end: end)
        state.withLock { $0.watch = watch }
    }

    var identity: Identity { state.withLock { $0.identity } }

    /// From now on the socket acts as `identity`. The new identity is watched before the old one
    /// is let go, so there is no moment when neither is.
    func replace(with identity: Identity) {
        let watch = credentialWatch.watch(identity, verifier: verifier, on: eventLoop, end: end)
        let old = state.withLock { state -> Int? in
            guard !state.stopped else { return watch }
            defer {
                state.identity = identity
                state.watch = watch
            }
            return state.watch
        }
        credentialWatch.unwatch(old)
    }

    /// The socket closed: nothing is watched any more.
    func stop() {
        let watch = state.withLock { state -> Int? in
            state.stopped = true
            defer { state.watch = nil }
            return state.watch
        }
        credentialWatch.unwatch(watch)
    }
}
