// RS256 and ES256 against public keys read from PEM files, an X.509 certificate and a JWKS
// file: the kind of key is told from the PEM itself, the token's `kid` picks a JWKS key, and a
// token whose algorithm is not its key's (HS256 "signed" with an RSA public key) is refused.

import CryptoExtras
import Foundation
import JWTKit
import Testing

@testable import FeedbaseAuth

/// A key pair made for one test, with jwt-kit signing for it.
struct SigningKey {
    let signer = JWTKeyCollection()
    let publicPEM: String
    /// The public half as a JWK member list (without `kid` and `alg`).
    let jwkMembers: String

    static func rsa() async throws -> SigningKey {
        let privateKey = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let key = try SigningKey(
            publicPEM: privateKey.publicKey.pemRepresentation,
            jwkMembers: {
                let (n, e) = try privateKey.publicKey.getKeyPrimitives()
                return #""kty":"RSA","n":"\#(Base64URL.encode(Array(n)))","e":"\#(Base64URL.encode(Array(e)))""#
            }())
        await key.signer.add(rsa: privateKey, digestAlgorithm: .sha256)
        return key
    }

    static func p256(pem: String? = nil) async throws -> SigningKey {
        let privateKey = try pem.map { try ES256PrivateKey(pem: $0) } ?? ES256PrivateKey()
        let (x, y) = try #require(privateKey.publicKey.parameters)
        let key = SigningKey(publicPEM: privateKey.publicKey.pemRepresentation, jwkMembers: #""kty":"EC","crv":"P-256","x":"\#(x)","y":"\#(y)""#)
        await key.signer.add(ecdsa: privateKey)
        return key
    }

    func sign(_ payload: String, alg: String, kid: String? = nil) async throws -> String {
        let header = kid.map { #"{"alg":"\#(alg)","kid":"\#($0)"}"# } ?? #"{"alg":"\#(alg)"}"#
        return try await Token.signed(payload, header: header, by: signer)
    }
}

@Suite struct PublicKeyTests {
    let clock = TestClock()
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    func authenticator(_ options: AuthOptions) throws -> Authenticator {
        var options = options
        options.leewaySeconds = 0
        return makeAuthenticator(try AuthConfiguration(options), clock: clock)
    }

    @Test func rs256AndES256KeysAreToldApartByTheirPEM() async throws {
        let rsa = try await SigningKey.rsa()
        let ec = try await SigningKey.p256()
        let configuration = try AuthConfiguration(AuthOptions(publicKeyFiles: [
            directory.write(rsa.publicPEM, to: "rsa.pem"), directory.write(ec.publicPEM, to: "ec.pem"),
        ]))
        #expect(configuration.keys.map(\.algorithm) == ["RS256", "ES256"])
        let auth = makeAuthenticator(configuration, clock: clock)
        let payload = #"{"sub":"u","exp":\#(clock.now + 60)}"#
        #expect(try await auth.authenticate(token: rsa.sign(payload, alg: "RS256")).identity?.subject == "u")
        #expect(try await auth.authenticate(token: ec.sign(payload, alg: "ES256")).identity?.subject == "u")
        // Each key verifies only its own algorithm, and a signature only from its own key.
        #expect(try await auth.authenticate(token: rsa.sign(payload, alg: "ES256")).refusal?.contains("bad signature") == true)
        let other = try await SigningKey.rsa()
        #expect(try await auth.authenticate(token: other.sign(payload, alg: "RS256")).refusal?.contains("bad signature") == true)
        #expect(try await auth.authenticate(token: Token.tampered(rsa.sign(payload, alg: "RS256"), part: 1)).refusal != nil)
    }

    @Test func aTokenSignedByJWTKitsOwnAPIVerifies() async throws {
        struct Payload: JWTPayload {
            var sub: SubjectClaim
            var exp: ExpirationClaim
            var role: String
            func verify(using algorithm: some JWTAlgorithm) throws {}
        }
        let ec = try await SigningKey.p256()
        let auth = try authenticator(AuthOptions(publicKeyFiles: [directory.write(ec.publicPEM, to: "ec.pem")]))
        let token = try await ec.signer.sign(Payload(
            sub: "jwt-kit", exp: ExpirationClaim(value: Date(timeIntervalSince1970: TimeInterval(clock.now + 60))), role: "writer"))
        let identity = try #require(await auth.authenticate(authorization: "Bearer " + token).identity)
        #expect(identity.role == "writer" && identity.subject == "jwt-kit" && identity.expiresAt == clock.now + 60)
    }

    @Test func anHMACTokenKeyedWithThePublicKeyIsRefused() async throws {
        let rsa = try await SigningKey.rsa()
        let auth = try authenticator(AuthOptions(publicKeyFiles: [directory.write(rsa.publicPEM, to: "rsa.pem")]))
        // The classic confusion: a verifier that let the header choose would check this HMAC
        // with the (public) PEM as its secret.
        let forged = Token.hs256(#"{"sub":"admin","role":"admin"}"#, secret: rsa.publicPEM)
        #expect(await auth.authenticate(token: forged).refusal == "the JWT's algorithm 'HS256' is not accepted here (RS256)")
    }

    @Test func aCertificateGivesItsPublicKey() async throws {
        let ec = try await SigningKey.p256(pem: TestCertificate.privateKey)
        let auth = try authenticator(AuthOptions(publicKeyFiles: [directory.write(TestCertificate.certificate, to: "cert.pem")]))
        #expect(auth.configuration.keys.map(\.algorithm) == ["ES256"])
        #expect(try await auth.authenticate(token: ec.sign(#"{"sub":"c"}"#, alg: "ES256")).identity?.subject == "c")
    }

    @Test func aJWKSKeyIsChosenByTheTokensKeyID() async throws {
        let rsa = try await SigningKey.rsa()
        let ec = try await SigningKey.p256()
        let jwks = """
            {"keys":[
              {\(rsa.jwkMembers),"kid":"rsa-1","alg":"RS256","use":"sig"},
              {\(ec.jwkMembers),"kid":"ec-1"},
              {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed"},
              {\(rsa.jwkMembers),"kid":"rsa-enc","use":"enc"}
            ]}
            """
        let configuration = try AuthConfiguration(AuthOptions(jwksFile: directory.write(jwks, to: "jwks.json"), leewaySeconds: 0))
        #expect(configuration.keys.map(\.keyID) == ["rsa-1", "ec-1"])
        #expect(configuration.notes.count == 2)
        let auth = makeAuthenticator(configuration, clock: clock)
        #expect(try await auth.authenticate(token: rsa.sign(#"{"sub":"r"}"#, alg: "RS256", kid: "rsa-1")).identity?.subject == "r")
        #expect(try await auth.authenticate(token: ec.sign(#"{"sub":"e"}"#, alg: "ES256", kid: "ec-1")).identity?.subject == "e")
        #expect(try await auth.authenticate(token: ec.sign(#"{"sub":"e"}"#, alg: "ES256")).identity?.subject == "e")
        #expect(try await auth.authenticate(token: rsa.sign("{}", alg: "RS256", kid: "rsa-2")).refusal == "unknown key id (kid) 'rsa-2'")
        // A kid of another algorithm's key does not lend that key.
        #expect(try await auth.authenticate(token: rsa.sign("{}", alg: "RS256", kid: "ec-1")).refusal == "unknown key id (kid) 'ec-1'")
    }
}
