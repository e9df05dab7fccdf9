// The Authenticator as the server uses it: Authorization headers, the synchronous fast path,
// the JWT cache (verified once, refused once expired, bounded, never holding a token that is
// not yet valid), API keys loaded from a real store (create, authenticate, revoke, reload,
// refused), and `isValid` for subscriptions opened earlier.

import Foundation
import Logging
import Synchronization
import Testing

@testable import FeedbaseAuth
import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct AuthenticatorTests {
    let clock = TestClock()

    func jwtAuthenticator(leeway: Int64 = 0, capacity: Int = Authenticator.defaultCacheCapacity) throws -> Authenticator {
        makeAuthenticator(try AuthConfiguration(AuthOptions(secret: secret, leewaySeconds: leeway)), clock: clock, cacheCapacity: capacity)
    }

    @Test func headersAreBearerTokensOrRefusedAsMalformed() async throws {
        let auth = try jwtAuthenticator()
        let token = Token.hs256(#"{"sub":"u"}"#)
        #expect(auth.cachedIdentity(authorization: nil) == .success(.anonymous))
        #expect(await auth.authenticate(authorization: nil) == .success(.anonymous))
        for header in ["bearer \(token)", "BEARER  \(token) ", "Bearer\t\(token)"] {
            #expect(await auth.authenticate(authorization: header).identity?.subject == "u", "\(header)")
        }
        for header in ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", token, "Bearer \(token) extra", "Bearer tok\u{e9}n", "Bearer a=b"] {
            let result = await auth.authenticate(authorization: header)
            guard case .failure(.malformedHeader) = result else {
                Issue.record("\(header) gave \(result)")
                continue
            }
            #expect(auth.cachedIdentity(authorization: header) == result)
        }
        #expect(await auth.authenticate(token: "") == .failure(.invalidToken("the token is empty")))
    }

    @Test func aVerifiedTokenIsServedFromTheCacheUntilItExpires() async throws {
        let auth = try jwtAuthenticator()
        let token = Token.hs256(#"{"sub":"u","exp":\#(clock.now + 60)}"#)
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)") == nil)
        let first = await auth.authenticate(token: token)
        #expect(first.identity?.subject == "u")
        #expect(auth.signatureCheckCount == 1)
        #expect(await auth.authenticate(token: token) == first)
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)") == first)
        #expect(auth.signatureCheckCount == 1)

        clock.advance(by: 60)
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)")?.refusal?.contains("expired") == true)
        #expect(await auth.authenticate(token: token).refusal?.contains("expired") == true)
    }

    @Test func withinTheLeewayAfterExpiryTheFullPathDecides() async throws {
        let auth = try jwtAuthenticator(leeway: 30)
        let token = Token.hs256(#"{"sub":"u","exp":\#(clock.now + 10)}"#)
        #expect(await auth.authenticate(token: token).identity != nil)
        clock.advance(by: 20)
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)") == nil)
        #expect(await auth.authenticate(token: token).identity != nil)
        clock.advance(by: 20)
        // The entry left the cache at `exp`, so the full path refuses.
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)") == nil)
        #expect(await auth.authenticate(token: token).refusal?.contains("expired") == true)
        #expect(auth.cachedTokenCount == 0)
    }

    @Test func aTokenNotYetValidIsNotCached() async throws {
        let auth = try jwtAuthenticator(leeway: 30)
        let token = Token.hs256(#"{"sub":"u","nbf":\#(clock.now + 10)}"#)
        #expect(await auth.authenticate(token: token).identity != nil)
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)") == nil)
        #expect(await auth.authenticate(token: token).identity != nil)
        #expect(auth.signatureCheckCount == 2)
    }

    @Test func theCacheIsBounded() async throws {
        let auth = try jwtAuthenticator(capacity: 3)
        let tokens = (0..<5).map { Token.hs256(#"{"sub":"u\#($0)"}"#) }
        for token in tokens { #expect(await auth.authenticate(token: token).identity != nil) }
        #expect(auth.cachedTokenCount == 3)
        // The oldest went first.
        #expect(auth.cachedIdentity(authorization: "Bearer \(tokens[0])") == nil)
        #expect(auth.cachedIdentity(authorization: "Bearer \(tokens[4])")?.identity?.subject == "u4")
    }

    @Test func anAPIKeyWorksUntilItIsRevoked() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(StoreConfiguration(path: directory.file("app.sqlite"), readers: 1), logger: quietLogger)
        let clock = self.clock
        let auth = makeAuthenticator(AuthConfiguration(), clock: clock, keys: { try await store.activeAPIKeys(now: clock.now) })

        let token = APIKeyToken.generate()
        let key = try await store.createAPIKey(hash: APIKeyToken.hash(token), role: "service", subject: "billing", expiresAt: nil)
        // Before the first reload only the async path can tell; it loads the keys itself.
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)") == nil)
        let identity = Identity(role: "service", subject: "billing", claims: [:], expiresAt: nil, credential: .apiKey(id: key.id))
        #expect(await auth.authenticate(authorization: "Bearer \(token)") == .success(identity))
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)") == .success(identity))
        #expect(await auth.refreshKeys() == false)
        #expect(auth.isValid(identity, at: clock.now))

        #expect(try await store.revokeAPIKey(id: key.id))
        #expect(await auth.refreshKeys())
        // Not among the keys in memory: only a look-up in the store can tell (it finds a key made
        // a moment ago by another process).
        #expect(auth.cachedIdentity(authorization: "Bearer \(token)") == nil)
        #expect(await auth.authenticate(token: token) == .failure(.invalidToken("unknown or revoked API key")))
        #expect(!auth.isValid(identity, at: clock.now))
        #expect(await auth.authenticate(token: APIKeyToken.generate()).refusal == "unknown or revoked API key")
        await store.close()
    }

    @Test func anExpiredAPIKeyIsRefused() async throws {
        let key = StoredAPIKey(id: "k1", hash: APIKeyToken.hash("fbk_test"), role: "user", subject: nil,
                               createdAt: clock.now, expiresAt: clock.now + 10, revokedAt: nil)
        let auth = makeAuthenticator(AuthConfiguration(), clock: clock, keys: { [key] })
        #expect(await auth.refreshKeys())
        let identity = try #require(await auth.authenticate(token: "fbk_test").identity)
        #expect(identity.expiresAt == clock.now + 10)
        #expect(auth.isValid(identity, at: clock.now + 9))
        #expect(!auth.isValid(identity, at: clock.now + 10))
        clock.advance(by: 10)
        #expect(await auth.authenticate(token: "fbk_test").refusal?.hasPrefix("the API key expired at") == true)
    }

    @Test func aFailedReloadKeepsThePreviousKeys() async throws {
        struct Unavailable: Error {}
        let key = StoredAPIKey(id: "k1", hash: APIKeyToken.hash("fbk_test"), role: "user", subject: nil, createdAt: 0, expiresAt: nil, revokedAt: nil)
        let failing = Mutex(false)
        let auth = makeAuthenticator(AuthConfiguration(), clock: clock, keys: {
            if failing.withLock({ $0 }) { throw Unavailable() }
            return [key]
        })
        #expect(await auth.refreshKeys())
        failing.withLock { $0 = true }
        #expect(await auth.refreshKeys() == false)
        #expect(await auth.authenticate(token: "fbk_test").identity?.role == "user")
    }

    @Test func aJWTIdentityStaysValidUntilItsExpiryAndTheLeeway() throws {
        let auth = try jwtAuthenticator(leeway: 5)
        let identity = Identity(role: "r", subject: nil, claims: [:], expiresAt: 100, credential: .jwt)
        #expect(auth.isValid(identity, at: 104))
        #expect(!auth.isValid(identity, at: 105))
        #expect(auth.isValid(Identity(role: "r", subject: nil, claims: [:], expiresAt: .max, credential: .jwt), at: .max - 1))
        #expect(auth.isValid(.anonymous, at: 0))
        #expect(!auth.isValid(Identity(role: "r", subject: nil, claims: [:], expiresAt: nil, credential: .apiKey(id: "gone")), at: 0))
    }

    @Test func tokensHaveTheirFormatAndOnlyTheirHashIsKept() {
        let token = APIKeyToken.generate()
        #expect(token.hasPrefix("fbk_"))
        #expect(token.count == 4 + 43)
        #expect(BearerToken.isWellFormed(token))
        #expect(Base64URL.decode(Array(token.dropFirst(4).utf8))?.count == 32)
        #expect(APIKeyToken.generate() != token)
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        #expect(APIKeyToken.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
