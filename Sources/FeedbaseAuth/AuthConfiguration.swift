// What the server accepts as a JWT and how a verified token becomes an Identity, and the
// builder that turns the `--jwt-*` flags (AuthOptions, one field per flag) into it, reading
// the files they name and saying which file is wrong and how.

import Foundation

/// The `--jwt-*` flags as given, before any file is read. Each field is one flag.
public struct AuthOptions: Sendable {
    /// `--jwt-secret`: an HS256 secret, at least 32 bytes (RFC 7518 §3.2).
    public var secret: String?
    /// `--jwt-secret-file`: a file holding an HS256 secret; one trailing newline is ignored.
    public var secretFile: String?
    /// `--jwt-public-key FILE` (repeatable): PEM public keys or X.509 certificates; RSA keys
    /// verify RS256, P-256 keys ES256.
    public var publicKeyFiles: [String]
    /// `--jwt-jwks FILE`: a JSON Web Key Set.
    public var jwksFile: String?
    /// `--jwt-issuer`: the `iss` every token must have.
    public var issuer: String?
    /// `--jwt-audience` (repeatable): the token's `aud` must name one of these.
    public var audiences: [String]
    /// `--jwt-role-claim`: a dotted path such as `app_metadata.role`.
    public var roleClaim: String
    /// `--jwt-subject-claim`
    public var subjectClaim: String
    /// `--jwt-default-role`: the role of a token without the role claim.
    public var defaultRole: String
    /// `--jwt-leeway`: seconds of clock skew allowed on `exp` and `nbf`.
    public var leewaySeconds: Int64

    public init(
        secret: String? = nil, secretFile: String? = nil, publicKeyFiles: [String] = [], jwksFile: String? = nil,
        issuer: String? = nil, audiences: [String] = [], roleClaim: String = "role", subjectClaim: String = "sub",
        defaultRole: String = "authenticated", leewaySeconds: Int64 = 30
    ) {
        self.secret = secret
        self.secretFile = secretFile
        self.publicKeyFiles = publicKeyFiles
        self.jwksFile = jwksFile
        self.issuer = issuer
        self.audiences = audiences
        self.roleClaim = roleClaim
        self.subjectClaim = subjectClaim
        self.defaultRole = defaultRole
        self.leewaySeconds = leewaySeconds
    }
}

/// Why the JWT configuration cannot be built. Never contains a secret.
public enum AuthConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file named by a flag cannot be read.
    case unreadableFile(option: String, path: String, reason: String)
    /// A key (from a flag or a file) is not one the server can verify with.
    case invalidKey(origin: String, reason: String)
    /// A flag's value is not acceptable.
    case invalidOption(option: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let option, let path, let reason): "\(option) \(path): cannot read the file: \(reason)"
        case .invalidKey(let origin, let reason): "\(origin): \(reason)"
        case .invalidOption(let option, let reason): "\(option): \(reason)"
        }
    }
}

/// A claim named by a dotted path into the payload: `role`, `app_metadata.role`.
public struct ClaimPath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]

    public static let role = ClaimPath(validated: ["role"])
    public static let subject = ClaimPath(validated: ["sub"])

    private init(validated components: [String]) { self.components = components }

    /// Nil when a segment is empty (`a..b`, `.role`, ``).
    public init?(_ text: String) {
        let components = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !components.contains(where: \.isEmpty) else { return nil }
        self.components = components
    }

    public var description: String { components.joined(separator: ".") }
}

public struct AuthConfiguration: Sendable {
    /// The keys a JWT may be signed with; none: JWTs are refused (API keys still work).
    public var keys: [JWTVerificationKey]
    public var issuer: String?
    /// When not empty, a token's `aud` must name one of these.
    public var audiences: [String]
    public var leewaySeconds: Int64
    public var roleClaim: ClaimPath
    public var subjectClaim: ClaimPath
    public var defaultRole: String
    /// What the builder passed over (a JWKS key of a kind not accepted), for the log at start.
    public var notes: [String]

    public init(
        keys: [JWTVerificationKey] = [], issuer: String? = nil, audiences: [String] = [], leewaySeconds: Int64 = 30,
        roleClaim: ClaimPath = .role, subjectClaim: ClaimPath = .subject, defaultRole: String = "authenticated", notes: [String] = []
    ) {
        self.keys = keys
        self.issuer = issuer
        self.audiences = audiences
        self.leewaySeconds = leewaySeconds
        self.roleClaim = roleClaim
        self.subjectClaim = subjectClaim
        self.defaultRole = defaultRole
        self.notes = notes
    }

    /// Reads the files the flags name and checks every value.
    public init(_ options: AuthOptions) throws(AuthConfigurationError) {
        var keys: [JWTVerificationKey] = []
        var notes: [String] = []
        if let secret = options.secret {
            keys.append(try .hs256(secret: Array(secret.utf8), origin: "--jwt-secret"))
        }
        if let path = options.secretFile {
            var bytes = try Self.read(path, option: "--jwt-secret-file")
            // `echo secret > file` adds a newline that is not part of the secret.
            if bytes.last == 0x0A { bytes.removeLast() }
            if bytes.last == 0x0D { bytes.removeLast() }
            keys.append(try .hs256(secret: bytes, origin: "--jwt-secret-file \(path)"))
        }
        for path in options.publicKeyFiles {
            let bytes = try Self.read(path, option: "--jwt-public-key")
            keys.append(try .publicKey(pem: String(decoding: bytes, as: UTF8.self), origin: "--jwt-public-key \(path)"))
        }
        if let path = options.jwksFile {
            let set = try JWTVerificationKey.jwks(json: Self.read(path, option: "--jwt-jwks"), origin: "--jwt-jwks \(path)")
            keys += set.keys
            notes += set.skipped
        }
        guard let roleClaim = ClaimPath(options.roleClaim) else {
            throw .invalidOption(option: "--jwt-role-claim", reason: "'\(options.roleClaim)' is not a claim name or a dotted path such as app_metadata.role")
        }
        guard let subjectClaim = ClaimPath(options.subjectClaim) else {
            throw .invalidOption(option: "--jwt-subject-claim", reason: "'\(options.subjectClaim)' is not a claim name or a dotted path")
        }
        guard !options.defaultRole.isEmpty else { throw .invalidOption(option: "--jwt-default-role", reason: "must not be empty") }
        guard options.leewaySeconds >= 0, options.leewaySeconds <= 86_400 else {
            throw .invalidOption(option: "--jwt-leeway", reason: "must be between 0 and 86400 seconds, not \(options.leewaySeconds)")
        }
        if options.issuer?.isEmpty == true { throw .invalidOption(option: "--jwt-issuer", reason: "must not be empty") }
        if options.audiences.contains("") { throw .invalidOption(option: "--jwt-audience", reason: "must not be empty") }
        if keys.isEmpty, options.issuer != nil || !options.audiences.isEmpty {
            throw .invalidOption(
                option: options.issuer != nil ? "--jwt-issuer" : "--jwt-audience",
                reason: "no key to verify JWTs with: give --jwt-secret, --jwt-secret-file, --jwt-public-key or --jwt-jwks")
        }
        self.init(
            keys: keys, issuer: options.issuer, audiences: options.audiences, leewaySeconds: options.leewaySeconds,
            roleClaim: roleClaim, subjectClaim: subjectClaim, defaultRole: options.defaultRole, notes: notes)
    }

    private static func read(_ path: String, option: String) throws(AuthConfigurationError) -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .unreadableFile(option: option, path: path, reason: "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadableFile(option: option, path: path, reason: "permission denied or not a regular file")
        }
        guard !data.isEmpty else { throw .unreadableFile(option: option, path: path, reason: "the file is empty") }
        return Array(data)
    }
}
