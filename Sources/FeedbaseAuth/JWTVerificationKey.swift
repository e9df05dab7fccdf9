// The keys a JWT may be signed with, read from an HS256 secret, a PEM public key or X.509
// certificate (RSA → RS256, P-256 → ES256, told apart by trying each), or a JWKS file. Each
// key has exactly one algorithm: a token naming another is refused before any signature is
// checked, which is what stops algorithm confusion (an RSA public key used as an HMAC secret).

import Foundation
import JWTKit

public struct JWTVerificationKey: Sendable {
    /// `HS256`, `RS256` or `ES256`: the only `alg` this key verifies.
    public let algorithm: String
    /// The JWKS `kid`; nil for secrets and PEM files, which any `kid` may select.
    public let keyID: String?
    /// Where the key came from, for messages (`--jwt-public-key keys/rsa.pem`).
    public let origin: String
    let material: Material

    enum Material: Sendable {
        case hmac(HMACKey)
        case rsa(Insecure.RSA.PublicKey)
        case p256(ES256PublicKey)
    }

    /// RFC 7518 §3.2: an HS256 key must be at least as long as the hash.
    static let minimumSecretBytes = 32

    public static func hs256(secret: [UInt8], keyID: String? = nil, origin: String) throws(AuthConfigurationError) -> JWTVerificationKey {
        guard secret.count >= minimumSecretBytes else {
            throw .invalidKey(origin: origin, reason: "an HS256 secret must be at least \(minimumSecretBytes) bytes (RFC 7518 §3.2); this one has \(secret.count)")
        }
        return JWTVerificationKey(algorithm: "HS256", keyID: keyID, origin: origin, material: .hmac(HMACKey(from: secret)))
    }

    /// A PEM public key (`PUBLIC KEY` or `RSA PUBLIC KEY`) or certificate (`CERTIFICATE`).
    /// Private keys are refused: the server only verifies, and should not hold one.
    public static func publicKey(pem: String, keyID: String? = nil, origin: String) throws(AuthConfigurationError) -> JWTVerificationKey {
        guard let label = firstPEMLabel(pem) else {
            throw .invalidKey(origin: origin, reason: "no PEM block (-----BEGIN PUBLIC KEY-----) in the file")
        }
        let accepted = "an RSA (RS256) or P-256 (ES256) public key"
        switch label {
        case "PUBLIC KEY", "RSA PUBLIC KEY":
            if label == "PUBLIC KEY", let key = try? ES256PublicKey(pem: pem) {
                return JWTVerificationKey(algorithm: "ES256", keyID: keyID, origin: origin, material: .p256(key))
            }
            if let key = try? Insecure.RSA.PublicKey(pem: pem) {
                return JWTVerificationKey(algorithm: "RS256", keyID: keyID, origin: origin, material: .rsa(key))
            }
            throw .invalidKey(origin: origin, reason: "not \(accepted) (RSA keys need at least 2048 bits)")
        case "CERTIFICATE":
            if let key = try? Insecure.RSA.PublicKey(certificatePEM: pem) {
                return JWTVerificationKey(algorithm: "RS256", keyID: keyID, origin: origin, material: .rsa(key))
            }
            if let key = try? ES256PublicKey(certificate: pem) {
                return JWTVerificationKey(algorithm: "ES256", keyID: keyID, origin: origin, material: .p256(key))
            }
            throw .invalidKey(origin: origin, reason: "a certificate whose key is not \(accepted)")
        case let label where label.hasSuffix("PRIVATE KEY"):
            throw .invalidKey(origin: origin, reason: "a private key; give its public key (openssl pkey -pubout)")
        default:
            throw .invalidKey(origin: origin, reason: "a PEM '\(label)' block, not \(accepted) or a certificate")
        }
    }

    /// The keys of a JWKS document. Keys for encryption (`use: enc`) and of kinds not accepted
    /// are skipped and described in `skipped`; a set with no usable key is an error.
    public static func jwks(json: [UInt8], origin: String) throws(AuthConfigurationError) -> (keys: [JWTVerificationKey], skipped: [String]) {
        let set: JWKSet
        do {
            set = try JSONDecoder().decode(JWKSet.self, from: Data(json))
        } catch {
            throw .invalidKey(origin: origin, reason: "not a JSON Web Key Set ({\"keys\": [...]}): \(Self.describe(error))")
        }
        var keys: [JWTVerificationKey] = []
        var skipped: [String] = []
        for (index, entry) in set.keys.enumerated() {
            let name = entry.kid.map { "key '\($0)'" } ?? "key #\(index + 1)"
            let keyOrigin = "\(origin) \(name)"
            if entry.use == "enc" {
                skipped.append("\(keyOrigin): an encryption key (use: enc), skipped")
                continue
            }
            switch (entry.kty, entry.alg ?? entry.defaultAlgorithm) {
            case ("RSA", "RS256"):
                guard let n = entry.n, let e = entry.e, let key = try? Insecure.RSA.PublicKey(modulus: n, exponent: e) else {
                    throw .invalidKey(origin: keyOrigin, reason: "an RSA key without a valid modulus (n) and exponent (e), or shorter than 2048 bits")
                }
                keys.append(JWTVerificationKey(algorithm: "RS256", keyID: entry.kid, origin: keyOrigin, material: .rsa(key)))
            case ("EC", "ES256") where entry.crv == "P-256":
                guard let x = entry.x, let y = entry.y, let key = try? ES256PublicKey(parameters: (x, y)) else {
                    throw .invalidKey(origin: keyOrigin, reason: "a P-256 key without valid coordinates (x, y)")
                }
                keys.append(JWTVerificationKey(algorithm: "ES256", keyID: entry.kid, origin: keyOrigin, material: .p256(key)))
            case ("oct", "HS256"):
                guard let k = entry.k, let secret = Base64URL.decode(Array(k.utf8)) else {
                    throw .invalidKey(origin: keyOrigin, reason: "a symmetric key without a base64url secret (k)")
                }
                keys.append(try .hs256(secret: secret, keyID: entry.kid, origin: keyOrigin))
            case (let kty, let alg):
                skipped.append("\(keyOrigin): kty \(kty) alg \(alg ?? "unspecified") is not accepted (RS256, ES256 on P-256, HS256), skipped")
            }
        }
        guard !keys.isEmpty else {
            throw .invalidKey(origin: origin, reason: "no usable key (RS256, ES256 on P-256 or HS256) among \(set.keys.count)")
        }
        return (keys, skipped)
    }

    /// The label of the first `-----BEGIN LABEL-----` line.
    private static func firstPEMLabel(_ pem: String) -> String? {
        guard let begin = pem.range(of: "-----BEGIN ") else { return nil }
        let rest = pem[begin.upperBound...]
        guard let end = rest.range(of: "-----") else { return nil }
        return String(rest[..<end.lowerBound])
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "'\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "invalid JSON"
        }
    }
}

/// A JWKS document: only the members that choose and build a verification key (RFC 7517).
private struct JWKSet: Decodable {
    struct Entry: Decodable {
        var kty: String
        var kid: String?
        var alg: String?
        var use: String?
        var crv: String?
        var n: String?
        var e: String?
        var x: String?
        var y: String?
        var k: String?

        /// The algorithm a key without `alg` is used for: the one its type allows here.
        var defaultAlgorithm: String? {
            switch kty {
            case "RSA": "RS256"
            case "EC": crv == "P-256" ? "ES256" : nil
            case "oct": "HS256"
            default: nil
            }
        }
    }

    var keys: [Entry]
}
