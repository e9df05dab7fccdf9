// Credentials on the HTTP side: the verifier the API asks (FeedbaseAuth's Authenticator), and
// the answers RFC 6750 prescribes when credentials are missing, malformed or refused (401 with
// `WWW-Authenticate: Bearer`) or an identity may not act (403).

import FeedbaseAuth
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns an `Authorization` header or a bare token into an identity.
public protocol CredentialVerifier: Sendable {
    /// Synchronous when the answer is known without new cryptography or a read (no header, an
    /// API key held in memory, a JWT verified before); nil when it needs `authenticate`.
    func cachedIdentity(authorization: String?) -> Result<Identity, AuthFailure>?
    func authenticate(authorization: String?) async -> Result<Identity, AuthFailure>
    /// A token given without the header (a feed's `access_token` parameter or `auth` message).
    func authenticate(token: String) async -> Result<Identity, AuthFailure>
    /// Whether an identity verified earlier still holds (its key not revoked, not expired).
    func isValid(_ identity: Identity, at now: Int64) -> Bool
}

extension Problem {
    static let realm = "feedbase"

    /// 401 for refused credentials: `error="invalid_token"` when a token was refused, none when
    /// the header was not a Bearer token at all (RFC 6750 §3.1).
    static func unauthorized(_ failure: AuthFailure) -> Problem {
        switch failure {
        case .malformedHeader(let detail):
            var problem = Problem(.unauthorized, "\(detail); send Authorization: Bearer <token>")
            problem.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"\(realm)\"")
            return problem
        case .invalidToken(let detail):
            var problem = Problem(.unauthorized, "the token was refused: \(detail)")
            let description = detail.unicodeScalars.filter { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 }
            problem.headers.add(
                name: "WWW-Authenticate",
                value: "Bearer realm=\"\(realm)\", error=\"invalid_token\", error_description=\"\(String(String.UnicodeScalarView(description)))\"")
            return problem
        }
    }

    /// The action is not granted: 401 to the anonymous (credentials might help), 403 to a
    /// known identity.
    static func denied(_ identity: Identity, _ what: String) -> Problem {
        if identity.isAnonymous {
            var problem = Problem(.unauthorized, "\(what) needs credentials: send Authorization: Bearer <token> (an API key or a JWT)")
            problem.headers.add(name: "WWW-Authenticate", value: "Bearer realm=\"\(realm)\"")
            return problem
        }
        return Problem(.forbidden, "your role '\(identity.role)' may not \(what)")
    }
}

/// Seconds since 1970, as credentials count them (`exp`, a key's expiry).
enum CredentialClock {
    static func now() -> Int64 {
        Int64(time(nil))
    }

    /// Milliseconds since 1970: an expiry timer set from whole seconds could fire up to a
    /// second after the expiry.
    static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
