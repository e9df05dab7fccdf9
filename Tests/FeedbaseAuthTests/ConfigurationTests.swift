// Building the JWT configuration from the `--jwt-*` flags: every bad file or value is an error
// that names the flag and the file and says what is wrong, and none repeats a secret.

import CryptoExtras
import JWTKit
import Testing

@testable import FeedbaseAuth

@Suite struct ConfigurationTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    func error(_ options: AuthOptions) -> String? {
        do {
            _ = try AuthConfiguration(options)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func theDefaultsAreThoseOfTheFlags() throws {
        let configuration = try AuthConfiguration(AuthOptions())
        #expect(configuration.keys.isEmpty)
        #expect(configuration.leewaySeconds == 30)
        #expect(configuration.roleClaim == .role && configuration.subjectClaim == .subject)
        #expect(configuration.defaultRole == "authenticated")
    }

    @Test func secretsMustBeLongEnoughAndAreNeverRepeated() async throws {
        let short = "too-short-secret"
        let message = try #require(error(AuthOptions(secret: short)))
        #expect(message == "--jwt-secret: an HS256 secret must be at least 32 bytes (RFC 7518 §3.2); this one has 16")
        let file = try directory.write(short + "\n", to: "secret.txt")
        #expect(error(AuthOptions(secretFile: file)) == "--jwt-secret-file \(file): an HS256 secret must be at least 32 bytes (RFC 7518 §3.2); this one has 16")
        // One trailing newline is not part of the secret.
        let good = try directory.write(secret + "\n", to: "good.txt")
        let configuration = try AuthConfiguration(AuthOptions(secretFile: good))
        #expect(configuration.keys.map(\.algorithm) == ["HS256"])
        let auth = makeAuthenticator(configuration, clock: TestClock())
        #expect(await auth.authenticate(token: Token.hs256(#"{"sub":"u"}"#)).identity != nil)
    }

    @Test func unreadableFilesAreNamed() throws {
        let missing = directory.file("missing.pem")
        #expect(error(AuthOptions(publicKeyFiles: [missing])) == "--jwt-public-key \(missing): cannot read the file: no such file")
        #expect(error(AuthOptions(jwksFile: missing)) == "--jwt-jwks \(missing): cannot read the file: no such file")
        let empty = try directory.write("", to: "empty.txt")
        #expect(error(AuthOptions(secretFile: empty)) == "--jwt-secret-file \(empty): cannot read the file: the file is empty")
    }

    @Test func pemFilesThatAreNoPublicKeyAreRefused() throws {
        let privateKey = try directory.write(TestCertificate.privateKey, to: "private.pem")
        #expect(error(AuthOptions(publicKeyFiles: [privateKey]))?.hasSuffix("a private key; give its public key (openssl pkey -pubout)") == true)
        let text = try directory.write("hello", to: "text.pem")
        #expect(error(AuthOptions(publicKeyFiles: [text])) == "--jwt-public-key \(text): no PEM block (-----BEGIN PUBLIC KEY-----) in the file")
        let garbage = try directory.write("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", to: "garbage.pem")
        #expect(error(AuthOptions(publicKeyFiles: [garbage]))?.contains("not an RSA (RS256) or P-256 (ES256) public key") == true)
        let p384 = try directory.write(P384.Signing.PrivateKey().publicKey.pemRepresentation, to: "p384.pem")
        #expect(error(AuthOptions(publicKeyFiles: [p384]))?.contains("not an RSA (RS256) or P-256 (ES256) public key") == true)
        let small = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024)).publicKey.pemRepresentation
        let smallFile = try directory.write(small, to: "small.pem")
        #expect(error(AuthOptions(publicKeyFiles: [smallFile]))?.contains("at least 2048 bits") == true)
    }

    @Test func jwksFilesAreCheckedKeyByKey() throws {
        let notJSON = try directory.write("{", to: "a.json")
        #expect(error(AuthOptions(jwksFile: notJSON))?.hasPrefix("--jwt-jwks \(notJSON): not a JSON Web Key Set") == true)
        let noKeys = try directory.write(#"{"keys":[]}"#, to: "b.json")
        #expect(error(AuthOptions(jwksFile: noKeys)) == "--jwt-jwks \(noKeys): no usable key (RS256, ES256 on P-256 or HS256) among 0")
        let badRSA = try directory.write(#"{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB"}]}"#, to: "c.json")
        #expect(error(AuthOptions(jwksFile: badRSA))?.hasPrefix("--jwt-jwks \(badRSA) key 'k1': an RSA key without a valid modulus") == true)
        let shortSecret = try directory.write(#"{"keys":[{"kty":"oct","k":"c2hvcnQ"}]}"#, to: "d.json")
        #expect(error(AuthOptions(jwksFile: shortSecret))?.contains("key #1: an HS256 secret must be at least 32 bytes") == true)
    }

    @Test func otherValuesAreChecked() {
        #expect(error(AuthOptions(secret: secret, leewaySeconds: -1)) == "--jwt-leeway: must be between 0 and 86400 seconds, not -1")
        #expect(error(AuthOptions(secret: secret, defaultRole: "")) == "--jwt-default-role: must not be empty")
        #expect(error(AuthOptions(issuer: "https://issuer.example"))?.hasPrefix("--jwt-issuer: no key to verify JWTs with") == true)
        #expect(error(AuthOptions(secret: secret, audiences: [""])) == "--jwt-audience: must not be empty")
    }
}
