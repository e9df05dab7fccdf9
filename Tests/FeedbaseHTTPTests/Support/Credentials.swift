// Credentials for end-to-end tests: API keys made in the server's own database (and loaded at
// once), and JWTs signed here with swift-crypto, HS256 with a secret and ES256 with a P-256 key
// whose public half the server reads from a PEM file.

import Crypto
import FeedbaseApp
import FeedbaseAuth
import FeedbaseModel
import FeedbasePostgres
import FeedbaseSQLite
import Foundation
import Logging

extension TestServer {
    /// The Authorization header of a new API key.
    func bearer(role: String, subject: String? = nil, expiresAt: Int64? = nil) async throws -> [(String, String)] {
        let token = try await apiKey(role: role, subject: subject, expiresAt: expiresAt)
        return [("Authorization", "Bearer " + token)]
    }

    /// A new API key's token, already loaded by the server.
    func apiKey(role: String, subject: String? = nil, expiresAt: Int64? = nil) async throws -> String {
        let token = APIKeyToken.generate()
        if let postgres = app.store as? PostgresStore {
            // As `feedbase keys create --db postgres://...` does, in the server's own database.
            let keys = PostgresAPIKeys(client: postgres.client, schema: postgres.log.schema, logger: Logger(label: "feedbase-test"))
            _ = try await keys.create(hash: APIKeyToken.hash(token), role: role, subject: subject, expiresAt: expiresAt)
        } else {
            _ = try await store.createAPIKey(hash: APIKeyToken.hash(token), role: role, subject: subject, expiresAt: expiresAt)
        }
        await app.reloadKeys()
        return token
    }

    /// Revokes the API key of `token` in the server's database, as `feedbase keys revoke` does;
    /// false when no key was revoked.
    func revokeAPIKey(token: String) async throws -> Bool {
        let hash = APIKeyToken.hash(token)
        if let postgres = app.store as? PostgresStore {
            let keys = PostgresAPIKeys(client: postgres.client, schema: postgres.log.schema, logger: Logger(label: "feedbase-test"))
            guard let id = try await keys.all().first(where: { $0.hash == hash })?.id else { return false }
            return try await keys.revoke(id: id)
        }
        guard let id = try await store.apiKeys().first(where: { $0.hash == hash })?.id else { return false }
        return try await store.revokeAPIKey(id: id)
    }
}

/// JWTs the test server accepts once configured with `TestJWT.configure`.
enum TestJWT {
    static let secret = "a-test-secret-of-at-least-32-bytes"
    static let audience = "feedbase-test"
    static let issuer = "https://issuer.test"
    static let signingKey = P256.Signing.PrivateKey()

    /// HS256 with `secret` and ES256 with `signingKey`'s public half (written to `directory`),
    /// `aud` and `iss` required, no leeway.
    static func configure(_ configuration: inout AppConfiguration, directory: String) throws {
        let pem = directory + "/es256-\(UUID().uuidString).pem"
        try signingKey.publicKey.pemRepresentation.write(toFile: pem, atomically: true, encoding: .utf8)
        configuration.auth = try AuthConfiguration(AuthOptions(
            secret: secret, publicKeyFiles: [pem], issuer: issuer, audiences: [audience], leewaySeconds: 0))
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// The claims of a valid token for `role` and `subject`, merged with `extra` (which may
    /// override any of them; a nil value removes the claim).
    static func claims(role: String, subject: String?, _ extra: [String: Any?] = [:]) -> [String: Any] {
        var claims: [String: Any] = ["role": role, "aud": audience, "iss": issuer, "exp": now + 3600, "iat": now]
        if let subject { claims["sub"] = subject }
        for (name, value) in extra { claims[name] = value }
        return claims
    }

    static func hs256(_ claims: [String: Any], secret: String = secret) throws -> String {
        let input = try signingInput(alg: "HS256", claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return input + "." + base64URL(Array(mac))
    }

    static func es256(_ claims: [String: Any], key: P256.Signing.PrivateKey = signingKey) throws -> String {
        let input = try signingInput(alg: "ES256", claims)
        // JWS wants the raw r‖s form (RFC 7518 §3.4).
        return input + "." + base64URL(Array(try key.signature(for: Array(input.utf8)).rawRepresentation))
    }

    private static func signingInput(alg: String, _ claims: [String: Any]) throws -> String {
        base64URL(Array(#"{"alg":"\#(alg)","typ":"JWT"}"#.utf8)) + "." + base64URL(Array(try JSONSerialization.data(withJSONObject: claims)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The token with one character of its payload changed.
    static func tampered(_ token: String) -> String {
        var parts = token.split(separator: ".").map(String.init)
        var payload = Array(parts[1].utf8)
        payload[payload.count / 2] = payload[payload.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        parts[1] = String(decoding: payload, as: UTF8.self)
        return parts.joined(separator: ".")
    }
}
