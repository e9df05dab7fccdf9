// An API key as stored (only its token's SHA-256), and the clock keys are judged by.

import Foundation

/// One row of `_feedbase_keys`.
public struct StoredAPIKey: Sendable, Hashable {
    /// What `feedbase keys list` shows and `keys revoke` takes (a UUIDv7: sorts by creation).
    public var id: String
    /// The lowercase hex SHA-256 of the whole token (`fbk_…`).
    public var hash: String
    public var role: String
    public var subject: String?
    /// Unix seconds.
    public var createdAt: Int64
    /// Unix seconds; nil: never expires.
    public var expiresAt: Int64?
    /// Unix seconds; nil: not revoked.
    public var revokedAt: Int64?

    public init(id: String, hash: String, role: String, subject: String?, createdAt: Int64, expiresAt: Int64?, revokedAt: Int64?) {
        self.id = id
        self.hash = hash
        self.role = role
        self.subject = subject
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// Neither revoked nor expired at `now` (unix seconds).
    public func isActive(at now: Int64) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }
}

public enum UnixTime {
    /// The current time in whole seconds since 1970.
    public static func now() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }
}
