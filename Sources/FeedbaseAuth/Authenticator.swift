// Turns credentials into an Identity: API keys against the active keys held in memory
// (reloaded from the store every 250 ms by the app, so a revocation made by another process
// takes effect within that; a key not among them is looked for in the store at once before it
// is refused, so a key just made by `feedbase keys create` works at once), and JWTs by full
// verification once, then from a bounded cache.
//
// A final class with a Mutex rather than an actor: `cachedIdentity` is called on event loops,
// which must get an answer synchronously (no hop to an actor's executor and back), and every
// critical section is a dictionary lookup or swap, never held across an `await`.

import FeedbaseModel
import Logging
import Synchronization

public final class Authenticator: Sendable {
    /// How many verified JWTs are remembered.
    public static let defaultCacheCapacity = 10_000

    private struct State {
        /// Active keys by the hash of their token, and by id (for `isValid`).
        var keysByHash: [String: StoredAPIKey] = [:]
        var keysByID: [String: StoredAPIKey] = [:]
        /// False until the first successful load: until then no key can be judged in memory.
        var keysLoaded = false
        /// Orders concurrent reloads: an older load finishing last must not win.
        var reloadsStarted: UInt64 = 0
        var reloadApplied: UInt64 = 0
        /// Whether the last load failed: a failure is logged once, not every 250 ms.
        var reloadFailing = false
        var tokens: TokenCache
        /// Reloads for unknown keys (see `reloadForUnknownKey`): the one waiting to start, which
        /// every unknown key arriving now joins; the one reading; when the last one started.
        var queuedMissReload: Task<Void, Never>?
        var runningMissReload: Task<Void, Never>?
        var lastMissReload: ContinuousClock.Instant?
    }

    /// The least time between two reloads for unknown keys: a flood of made-up keys costs the
    /// store at most one small read per this, however many requests carry them.
    public static let missReloadSpacing: Duration = .milliseconds(50)

    public let configuration: AuthConfiguration
    private let verifier: JWTVerifier
    private let loadKeys: @Sendable () async throws -> [StoredAPIKey]
    private let now: @Sendable () -> Int64
    private let logger: Logger
    private let keysChanged: @Sendable () -> Void
    private let state: Mutex<State>

    /// - Parameters:
    ///   - loadKeys: the active API keys (the app passes `SQLiteStore.activeAPIKeys`).
    ///   - now: the clock, in unix seconds (tests move it).
    ///   - keysChanged: called after any reload that changed the set, whatever started it (open
    ///     subscriptions are then re-checked with `isValid`).
    public init(
        configuration: AuthConfiguration, loadKeys: @escaping @Sendable () async throws -> [StoredAPIKey], logger: Logger,
        cacheCapacity: Int = Authenticator.defaultCacheCapacity, now: @escaping @Sendable () -> Int64 = UnixTime.now,
        keysChanged: @escaping @Sendable () -> Void = {}
    ) {
        self.configuration = configuration
        self.verifier = JWTVerifier(configuration: configuration)
        self.loadKeys = loadKeys
        self.now = now
        self.logger = logger
        self.keysChanged = keysChanged
        self.state = Mutex(State(tokens: TokenCache(capacity: cacheCapacity)))
        for note in configuration.notes { logger.notice("JWT key not used", metadata: ["note": "\(note)"]) }
    }

    /// Signature checks done so far (the cache's tests count them).
    var signatureCheckCount: Int { verifier.signatureCheckCount }
    var cachedTokenCount: Int { state.withLock { $0.tokens.count } }

    // MARK: API keys

    /// Reloads the active keys; returns whether the set changed (`keysChanged` has then been
    /// called). A failed load keeps the previous set and is logged.
    @discardableResult
    public func refreshKeys() async -> Bool {
        let ticket = state.withLock { state in
            state.reloadsStarted += 1
            return state.reloadsStarted
        }
        let keys: [StoredAPIKey]
        do {
            keys = try await loadKeys()
        } catch {
            let first = state.withLock { state in
                defer { state.reloadFailing = true }
                return !state.reloadFailing
            }
            if first { logger.error("cannot load the API keys; the previous set stays in force", metadata: ["error": "\(error)"]) }
            return false
        }
        let byHash = Dictionary(keys.map { ($0.hash, $0) }, uniquingKeysWith: { first, _ in first })
        let (changed, recovered) = state.withLock { state -> (Bool, Bool) in
            let recovered = state.reloadFailing
            state.reloadFailing = false
            guard ticket > state.reloadApplied else { return (false, recovered) }
            state.reloadApplied = ticket
            state.keysLoaded = true
            guard state.keysByHash != byHash else { return (false, recovered) }
            state.keysByHash = byHash
            state.keysByID = Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            return (true, recovered)
        }
        if recovered { logger.notice("API keys load again") }
        if changed {
            logger.debug("API keys reloaded", metadata: ["active": "\(byHash.count)"])
            keysChanged()
        }
        return changed
    }

    /// Waits for a reload of the keys that starts after this call, for a key not among those in
    /// memory (it may have been made a moment ago by another process). Single-flight: every
    /// unknown key arriving before that reload starts shares it; and reloads for unknown keys
    /// start at most every `missReloadSpacing`, one at a time.
    private func reloadForUnknownKey() async {
        let reload = state.withLock { locked -> Task<Void, Never> in
            if let queued = locked.queuedMissReload { return queued }
            let previous = locked.runningMissReload
            let task = Task { [self] in
                await previous?.value
                let last = state.withLock { $0.lastMissReload }
                if let last { try? await Task.sleep(until: last + Self.missReloadSpacing, clock: .continuous) }
                state.withLock { state in
                    state.runningMissReload = state.queuedMissReload
                    state.queuedMissReload = nil
                    state.lastMissReload = .now
                }
                await refreshKeys()
            }
            locked.queuedMissReload = task
            return task
        }
        await reload.value
    }

    /// Nil when the keys were never loaded, or (`unknownIsFinal` false) when the key is not
    /// among them.
    private func apiKeyIdentity(_ token: String, at now: Int64, unknownIsFinal: Bool) -> Result<Identity, AuthFailure>? {
        let hash = APIKeyToken.hash(token)
        let found = state.withLock { state -> StoredAPIKey?? in
            state.keysLoaded ? .some(state.keysByHash[hash]) : .none
        }
        guard let found else { return nil }
        guard let key = found else { return unknownIsFinal ? .failure(.invalidToken("unknown or revoked API key")) : nil }
        if let expiresAt = key.expiresAt, now >= expiresAt {
            return .failure(.invalidToken("the API key expired at \(RFC3339.format(expiresAt))"))
        }
        return .success(Identity(role: key.role, subject: key.subject, claims: [:], expiresAt: key.expiresAt, credential: .apiKey(id: key.id)))
    }

    // MARK: Authentication

    /// The answer that needs no waiting, for event-loop callers: anonymous, an API key, a JWT
    /// verified before, or a malformed header. Nil: only `authenticate` can tell.
    public func cachedIdentity(authorization: String?) -> Result<Identity, AuthFailure>? {
        guard let authorization else { return .success(.anonymous) }
        switch BearerToken.fromAuthorization(authorization) {
        case .failure(let failure): return .failure(failure)
        case .success(let token): return cachedIdentity(token: token, at: now())
        }
    }

    private func cachedIdentity(token: String, at now: Int64) -> Result<Identity, AuthFailure>? {
        if token.hasPrefix(APIKeyToken.prefix) { return apiKeyIdentity(token, at: now, unknownIsFinal: false) }
        let key = TokenCache.key(token)
        guard let entry = state.withLock({ $0.tokens.lookup(key, now: now) }) else { return nil }
        guard let expiresAt = entry.expiresAt, Double(now) >= expiresAt else { return .success(entry.identity) }
        // Dropped at `exp`; within the leeway after it, full verification still decides.
        guard Double(now) >= expiresAt + Double(configuration.leewaySeconds) else { return nil }
        return .failure(.invalidToken("the token expired at \(RFC3339.format(expiresAt))"))
    }

    /// Full verification of an `Authorization` header (nil: anonymous).
    public func authenticate(authorization: String?) async -> Result<Identity, AuthFailure> {
        guard let authorization else { return .success(.anonymous) }
        switch BearerToken.fromAuthorization(authorization) {
        case .failure(let failure): return .failure(failure)
        case .success(let token): return await authenticate(token: token)
        }
    }

    /// Full verification of a bare token (a feed's `access_token` parameter or first message).
    public func authenticate(token: String) async -> Result<Identity, AuthFailure> {
        guard BearerToken.isWellFormed(token) else {
            return .failure(.invalidToken(token.isEmpty ? "the token is empty" : "the token holds characters a token cannot have (RFC 6750 b64token)"))
        }
        let now = self.now()
        if let known = cachedIdentity(token: token, at: now) { return known }
        if token.hasPrefix(APIKeyToken.prefix) {
            await reloadForUnknownKey()
            return apiKeyIdentity(token, at: now, unknownIsFinal: true) ?? .failure(.invalidToken("API keys cannot be checked right now"))
        }
        let result = await verifier.verify(token, now: now)
        if case .success(let verified) = result, Self.isCacheable(verified, now: now) {
            let key = TokenCache.key(token)
            state.withLock { $0.tokens.insert(verified.identity, expiresAt: verified.expiresAt, for: key) }
        }
        return result.map(\.identity)
    }

    /// A token is cached only while it is valid without the leeway: not before its `nbf` (a
    /// cached answer would skip that check) and not after its `exp`.
    private static func isCacheable(_ verified: VerifiedJWT, now: Int64) -> Bool {
        if let notBefore = verified.notBefore, Double(now) < notBefore { return false }
        if let expiresAt = verified.expiresAt, Double(now) >= expiresAt { return false }
        return true
    }

    /// Whether an identity authenticated earlier may still act: false once its API key is
    /// revoked, expired or gone, or its `expiresAt` (plus the leeway, for a JWT) has passed.
    public func isValid(_ identity: Identity, at now: Int64) -> Bool {
        switch identity.credential {
        case .anonymous:
            return true
        case .apiKey(let id):
            guard let key = state.withLock({ $0.keysByID[id] }) else { return false }
            return key.isActive(at: now)
        case .jwt:
            guard let expiresAt = identity.expiresAt else { return true }
            let (limit, overflow) = expiresAt.addingReportingOverflow(configuration.leewaySeconds)
            return overflow || now < limit
        }
    }
}
