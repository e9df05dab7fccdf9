// Who is asking: the identity a request or a feed subscription acts as, once its credentials
// (an API key or a JWT) are verified, or the anonymous one when it sent none.

/// A verified identity. Rules name roles; row conditions substitute `$sub` and `$claims.NAME`.
public struct Identity: Sendable, Hashable {
    /// The role of requests that carry no credentials.
    public static let anonymousRole = "anon"
    public static let anonymous = Identity(role: anonymousRole, subject: nil, claims: [:], expiresAt: nil, credential: .anonymous)

    public enum Credential: Sendable, Hashable {
        case anonymous
        /// An API key, by its id (what `feedbase keys list` shows and `keys revoke` takes).
        case apiKey(id: String)
        case jwt
    }

    public var role: String
    /// `$sub` in rules: the key's subject, or the JWT's subject claim.
    public var subject: String?
    /// `$claims.NAME` in rules: the token's scalar claims as text (numbers as written, booleans
    /// as true/false); nested objects flattened with dots (`app.org`). Empty for API keys.
    public var claims: [String: String]
    /// When the credential stops being valid, in seconds since 1970 (nil: never).
    public var expiresAt: Int64?
    public var credential: Credential

    public init(role: String, subject: String?, claims: [String: String], expiresAt: Int64?, credential: Credential) {
        self.role = role
        self.subject = subject
        self.claims = claims
        self.expiresAt = expiresAt
        self.credential = credential
    }

    public var isAnonymous: Bool { credential == .anonymous }
}

/// Why credentials were refused; HTTP answers 401 with `WWW-Authenticate: Bearer` and, for
/// `.invalidToken`, `error="invalid_token"` and this description.
public enum AuthFailure: Error, Sendable, Equatable {
    /// The Authorization header is not `Bearer <token>`.
    case malformedHeader(String)
    /// The token is not a valid key or JWT: unknown, revoked, expired, not yet valid, wrong
    /// issuer or audience, bad signature. The description says which, without secrets.
    case invalidToken(String)

    public var description: String {
        switch self {
        case .malformedHeader(let text), .invalidToken(let text): text
        }
    }
}
