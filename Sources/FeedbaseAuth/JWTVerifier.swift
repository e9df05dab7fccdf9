// Full verification of one JWT: the header chooses candidate keys (its `alg` must be the key's
// one algorithm, `none` never is; its `kid` must name a configured key when keys have ids), the
// signature is checked by jwt-kit, then `exp`, `nbf`, `iss` and `aud`, and the claims become an
// Identity. Every refusal says which check failed, never echoing a secret.

import JWTKit
import Synchronization

/// What a verification established about a token: who it is, and the window it is valid in.
struct VerifiedJWT {
    var identity: Identity
    /// `exp` and `nbf` as written (may be fractional), unix seconds.
    var expiresAt: Double?
    var notBefore: Double?
}

/// jwt-kit decodes the payload into a type before it returns; claims are read by ClaimsJSON
/// instead (numbers as written), so this type reads nothing and checks nothing.
private struct SignatureOnly: JWTPayload {
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {}
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

final class JWTVerifier: Sendable {
    let configuration: AuthConfiguration
    /// One jwt-kit collection per configured key (so a collection's fallback to its default key
    /// can never pick another key than the one chosen here), built on first use because adding
    /// keys to jwt-kit's actor is async.
    private let collections = Mutex<[JWTKeyCollection]?>(nil)
    /// Signature checks performed, for tests of the cache.
    private let signatureChecks = Atomic<Int>(0)

    init(configuration: AuthConfiguration) {
        self.configuration = configuration
    }

    var signatureCheckCount: Int { signatureChecks.load(ordering: .relaxed) }

    var acceptedAlgorithms: [String] {
        var seen: [String] = []
        for key in configuration.keys where !seen.contains(key.algorithm) { seen.append(key.algorithm) }
        return seen
    }

    func verify(_ token: String, now: Int64) async -> Result<VerifiedJWT, AuthFailure> {
        do throws(AuthFailure) {
            let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            guard parts.count == 3 else {
                throw .invalidToken("the token is neither an API key (fbk_…) nor a JWT (three base64url parts)")
            }
            let header = try Self.object(parts[0], part: "header")
            let payload = try Self.object(parts[1], part: "payload")
            let candidates = try candidateKeys(for: header)
            try await checkSignature(token, with: candidates)
            return .success(try claims(payload, now: now))
        } catch {
            return .failure(error)
        }
    }

    private static func object(_ part: Substring.UTF8View.SubSequence, part name: String) throws(AuthFailure) -> [String: ClaimValue] {
        guard let bytes = Base64URL.decode(part) else { throw .invalidToken("the JWT's \(name) is not base64url") }
        let value: ClaimValue
        do {
            value = try ClaimsJSONParser.parse(bytes)
        } catch {
            throw .invalidToken("the JWT's \(name) is not valid JSON: \(error.reason)")
        }
        guard case .object(let members) = value else { throw .invalidToken("the JWT's \(name) is not a JSON object") }
        return members
    }

    /// The indexes of the keys that may have signed a token with this header.
    private func candidateKeys(for header: [String: ClaimValue]) throws(AuthFailure) -> [Int] {
        guard case .string(let algorithm)? = header["alg"] else { throw .invalidToken("the JWT's header names no algorithm (alg)") }
        if algorithm.lowercased() == "none" { throw .invalidToken("unsigned JWTs (alg none) are refused") }
        // RFC 7515 §4.1.11: an extension the recipient must understand, and this one understands none.
        if header["crit"] != nil { throw .invalidToken("the JWT's header has critical extensions (crit), which are not supported") }
        guard !configuration.keys.isEmpty else {
            throw .invalidToken("this server accepts no JWTs (it was given no JWT secret or key), only API keys")
        }
        let sameAlgorithm = configuration.keys.indices.filter { configuration.keys[$0].algorithm == algorithm }
        guard !sameAlgorithm.isEmpty else {
            throw .invalidToken("the JWT's algorithm \(quotedForMessage(algorithm)) is not accepted here (\(acceptedAlgorithms.joined(separator: ", ")))")
        }
        switch header["kid"] {
        case nil, .null?:
            return sameAlgorithm
        case .string(let kid)?:
            let matching = sameAlgorithm.filter { configuration.keys[$0].keyID == kid || configuration.keys[$0].keyID == nil }
            guard !matching.isEmpty else { throw .invalidToken("unknown key id (kid) \(quotedForMessage(kid))") }
            return matching
        default:
            throw .invalidToken("the JWT's key id (kid) is not a string")
        }
    }

    private func checkSignature(_ token: String, with candidates: [Int]) async throws(AuthFailure) {
        let collections = await preparedCollections()
        for index in candidates {
            signatureChecks.add(1, ordering: .relaxed)
            do {
                _ = try await collections[index].verify(token, as: SignatureOnly.self)
                return
            } catch {
                // A signature that does not verify, is not base64url, or has the wrong size for
                // the key: all mean this key did not sign the token; the next one may have.
                continue
            }
        }
        throw .invalidToken("bad signature: the JWT was not signed by a key this server accepts")
    }

    private func preparedCollections() async -> [JWTKeyCollection] {
        if let ready = collections.withLock({ $0 }) { return ready }
        var built: [JWTKeyCollection] = []
        for key in configuration.keys {
            let collection = JWTKeyCollection()
            switch key.material {
            case .hmac(let secret): await collection.add(hmac: secret, digestAlgorithm: .sha256)
            case .rsa(let publicKey): await collection.add(rsa: publicKey, digestAlgorithm: .sha256)
            case .p256(let publicKey): await collection.add(ecdsa: publicKey)
            }
            built.append(collection)
        }
        // Two first callers may both build; the first to finish wins and the other's is dropped.
        return collections.withLock { stored in
            if let stored { return stored }
            stored = built
            return built
        }
    }

    private func claims(_ payload: [String: ClaimValue], now: Int64) throws(AuthFailure) -> VerifiedJWT {
        let leeway = Double(configuration.leewaySeconds)
        let expiresAt = try Self.time(payload["exp"], name: "exp")
        let notBefore = try Self.time(payload["nbf"], name: "nbf")
        if let expiresAt, Double(now) >= expiresAt + leeway {
            throw .invalidToken("the token expired at \(RFC3339.format(expiresAt))")
        }
        if let notBefore, Double(now) + leeway < notBefore {
            throw .invalidToken("the token is not valid before \(RFC3339.format(notBefore))")
        }
        if let issuer = configuration.issuer {
            guard case .string(let tokenIssuer)? = payload["iss"] else {
                throw .invalidToken("the token names no issuer (iss); expected \(quotedForMessage(issuer))")
            }
            guard tokenIssuer == issuer else {
                throw .invalidToken("wrong issuer: the token is from \(quotedForMessage(tokenIssuer)), expected \(quotedForMessage(issuer))")
            }
        }
        if !configuration.audiences.isEmpty {
            let audiences: [String]
            switch payload["aud"] {
            case .string(let audience)?: audiences = [audience]
            case .array(let values)? where values.allSatisfy({ if case .string = $0 { true } else { false } }):
                audiences = values.compactMap { if case .string(let text) = $0 { text } else { nil } }
            case nil: throw .invalidToken("the token names no audience (aud)")
            default: throw .invalidToken("the token's audience (aud) is neither a string nor an array of strings")
            }
            guard audiences.contains(where: configuration.audiences.contains) else {
                let named = audiences.prefix(5).map(quotedForMessage).joined(separator: ", ")
                throw .invalidToken("wrong audience: the token is for \(named.isEmpty ? "no one" : named), not for this server")
            }
        }
        let root = ClaimValue.object(payload)
        let role: String
        switch root.value(at: configuration.roleClaim.components) {
        case nil, .null?: role = configuration.defaultRole
        case .string(let text)? where !text.isEmpty: role = text
        default: throw .invalidToken("the role claim \(quotedForMessage(configuration.roleClaim.description)) is not a non-empty string")
        }
        let subject: String?
        switch root.value(at: configuration.subjectClaim.components) {
        case nil, .null?: subject = nil
        case .string(let text)?: subject = text
        default: throw .invalidToken("the subject claim \(quotedForMessage(configuration.subjectClaim.description)) is not a string")
        }
        let identity = Identity(
            role: role, subject: subject, claims: root.flattened(), expiresAt: expiresAt.map(RFC3339.wholeSeconds), credential: .jwt)
        return VerifiedJWT(identity: identity, expiresAt: expiresAt, notBefore: notBefore)
    }

    /// A NumericDate claim (RFC 7519 §2): a finite JSON number, possibly fractional.
    private static func time(_ value: ClaimValue?, name: String) throws(AuthFailure) -> Double? {
        guard let value, value != .null else { return nil }
        guard let seconds = value.numberValue, seconds.isFinite else {
            throw .invalidToken("the token's \(name) is not a number of seconds since 1970")
        }
        return seconds
    }
}
