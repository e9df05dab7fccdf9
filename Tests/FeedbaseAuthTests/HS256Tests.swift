// HS256 tokens against a shared secret: a valid one becomes an Identity; each way a token can
// be wrong (expired, early, wrong audience or issuer, tampered, unsigned, another secret, an
// algorithm the key is not for) is refused with a description that names the check.

import Foundation
import Testing

@testable import FeedbaseAuth

@Suite struct HS256Tests {
    let clock = TestClock()
    var now: Int64 { clock.now }

    func authenticator(issuer: String? = nil, audiences: [String] = [], leeway: Int64 = 0) throws -> Authenticator {
        let configuration = try AuthConfiguration(AuthOptions(secret: secret, issuer: issuer, audiences: audiences, leewaySeconds: leeway))
        return makeAuthenticator(configuration, clock: clock)
    }

    @Test func aValidTokenBecomesAnIdentity() async throws {
        let token = Token.hs256(#"{"sub":"user-1","role":"editor","exp":\#(now + 60)}"#)
        let identity = try #require(await authenticator().authenticate(authorization: "Bearer \(token)").identity)
        #expect(identity == Identity(
            role: "editor", subject: "user-1", claims: ["sub": "user-1", "role": "editor", "exp": "\(now + 60)"],
            expiresAt: now + 60, credential: .jwt))
    }

    @Test func anExpiredTokenIsRefused() async throws {
        let token = Token.hs256(#"{"sub":"u","exp":\#(now)}"#)
        let refusal = try #require(await authenticator().authenticate(token: token).refusal)
        #expect(refusal.contains("expired at"))
        // Within the leeway it is still accepted.
        #expect(try await authenticator(leeway: 30).authenticate(token: token).identity != nil)
    }

    @Test func aTokenNotYetValidIsRefused() async throws {
        let token = Token.hs256(#"{"sub":"u","nbf":\#(now + 10),"exp":\#(now + 60)}"#)
        #expect(try await authenticator().authenticate(token: token).refusal?.contains("not valid before") == true)
        #expect(try await authenticator(leeway: 30).authenticate(token: token).identity != nil)
    }

    @Test func theAudienceMustBeOneOfThisServers() async throws {
        let auth = try authenticator(audiences: ["feedbase", "api"])
        #expect(await auth.authenticate(token: Token.hs256(#"{"aud":"api"}"#)).identity != nil)
        #expect(await auth.authenticate(token: Token.hs256(#"{"aud":["other","feedbase"]}"#)).identity != nil)
        #expect(await auth.authenticate(token: Token.hs256(#"{"aud":"other"}"#)).refusal?.contains("wrong audience") == true)
        #expect(await auth.authenticate(token: Token.hs256(#"{"aud":["x","y"]}"#)).refusal?.contains("wrong audience") == true)
        #expect(await auth.authenticate(token: Token.hs256(#"{"sub":"u"}"#)).refusal?.contains("no audience") == true)
        #expect(await auth.authenticate(token: Token.hs256(#"{"aud":7}"#)).refusal?.contains("neither a string nor an array") == true)
    }

    @Test func theIssuerMustMatch() async throws {
        let auth = try authenticator(issuer: "https://issuer.example")
        #expect(await auth.authenticate(token: Token.hs256(#"{"iss":"https://issuer.example"}"#)).identity != nil)
        #expect(await auth.authenticate(token: Token.hs256(#"{"iss":"https://evil.example"}"#)).refusal?.contains("wrong issuer") == true)
        #expect(await auth.authenticate(token: Token.hs256(#"{"sub":"u"}"#)).refusal?.contains("no issuer") == true)
    }

    @Test func aTamperedPayloadOrSignatureIsRefused() async throws {
        let auth = try authenticator()
        let token = Token.hs256(#"{"sub":"user-1","role":"reader","exp":\#(now + 60)}"#)
        #expect(await auth.authenticate(token: token).identity != nil)
        // The payload re-encoded with another role, the signature kept.
        let parts = token.split(separator: ".").map(String.init)
        let forged = parts[0] + "." + Token.encode(#"{"sub":"user-1","role":"admin","exp":\#(now + 60)}"#) + "." + parts[2]
        #expect(await auth.authenticate(token: forged).refusal?.contains("bad signature") == true)
        #expect(await auth.authenticate(token: Token.tampered(token, part: 2)).refusal?.contains("bad signature") == true)
    }

    @Test func unsignedTokensAreRefusedHoweverTheyAreSpelled() async throws {
        let auth = try authenticator()
        let payload = Token.encode(#"{"sub":"u","role":"admin"}"#)
        for alg in ["none", "None", "NONE"] {
            let unsigned = Token.encode(#"{"alg":"\#(alg)"}"#) + "." + payload + "."
            #expect(await auth.authenticate(token: unsigned).refusal?.contains("alg none") == true)
        }
        // Even with a valid HMAC over it: the header's alg decides, and none is never accepted.
        let withMAC = Token.hs256(#"{"sub":"u"}"#, header: #"{"alg":"none"}"#)
        #expect(await auth.authenticate(token: withMAC).refusal?.contains("alg none") == true)
        let noAlgorithm = Token.hs256(#"{"sub":"u"}"#, header: #"{"typ":"JWT"}"#)
        #expect(await auth.authenticate(token: noAlgorithm).refusal?.contains("names no algorithm") == true)
    }

    @Test func aTokenSignedWithAnotherSecretIsRefused() async throws {
        let token = Token.hs256(#"{"sub":"u"}"#, secret: "another-secret-that-is-also-32-bytes-long")
        #expect(try await authenticator().authenticate(token: token).refusal?.contains("bad signature") == true)
    }

    @Test func anAlgorithmOtherThanTheKeysIsRefused() async throws {
        let token = Token.hs256(#"{"sub":"u"}"#, header: #"{"alg":"HS512"}"#)
        #expect(try await authenticator().authenticate(token: token).refusal == "the JWT's algorithm 'HS512' is not accepted here (HS256)")
    }

    @Test func garbageIsRefusedWithoutACrash() async throws {
        let auth = try authenticator()
        for token in ["abc", "a.b", "a.b.c.d", "!!!.e30.x", "e30.e30.", Token.encode("[]") + ".e30.", Token.encode(#"{"alg":"HS256","alg":"none"}"#) + ".e30.",
                      Token.hs256("[1,2]"), Token.hs256(#"{"exp":"tomorrow"}"#), Token.hs256(#"{"exp":1e999}"#)] {
            #expect(await auth.authenticate(token: token).refusal != nil, "\(token)")
        }
        #expect(await auth.authenticate(token: Token.hs256(#"{"exp":1e300}"#)).identity?.expiresAt == .max)
    }

    @Test func aServerWithoutJWTKeysSaysSo() async throws {
        let auth = makeAuthenticator(AuthConfiguration(), clock: clock)
        #expect(await auth.authenticate(token: Token.hs256(#"{"sub":"u"}"#)).refusal?.contains("accepts no JWTs") == true)
    }
}
