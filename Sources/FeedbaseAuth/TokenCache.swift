// The identities of JWTs verified before, so that a client sending the same token on every
// request costs one SHA-256 and one dictionary lookup instead of a signature check. Keyed by the
// token's SHA-256, so the cache holds no bearer token. Bounded: past `capacity` the oldest
// entry goes first (insertion order, a ring of keys: O(1), and for tokens of one lifetime the
// oldest is also the one that expires first). An entry is dropped at its token's `exp`.

import Crypto

struct TokenCache {
    struct Entry {
        var identity: Identity
        /// The token's `exp` (unix seconds); nil: the token has none.
        var expiresAt: Double?
        /// Which insertion this is: a key removed and inserted again leaves a stale slot in the ring.
        var stamp: UInt64
    }

    let capacity: Int
    private var entries: [SHA256Digest: Entry] = [:]
    private var ring: [(key: SHA256Digest, stamp: UInt64)] = []
    private var head = 0
    private var nextStamp: UInt64 = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { entries.count }

    static func key(_ token: String) -> SHA256Digest { SHA256.hash(data: Array(token.utf8)) }

    /// The entry for `key` if any; an entry whose token expired by `now` is dropped and returned
    /// as well, so the caller can say why it is refused.
    mutating func lookup(_ key: SHA256Digest, now: Int64) -> Entry? {
        guard let entry = entries[key] else { return nil }
        if let expiresAt = entry.expiresAt, Double(now) >= expiresAt { entries.removeValue(forKey: key) }
        return entry
    }

    mutating func insert(_ identity: Identity, expiresAt: Double?, for key: SHA256Digest) {
        while entries.count >= capacity, entries[key] == nil, evictOldest() {}
        nextStamp += 1
        entries[key] = Entry(identity: identity, expiresAt: expiresAt, stamp: nextStamp)
        ring.append((key, nextStamp))
        compactRing()
    }

    /// Drops the oldest live entry; false when the ring is empty.
    private mutating func evictOldest() -> Bool {
        while head < ring.count {
            let slot = ring[head]
            head += 1
            if entries[slot.key]?.stamp == slot.stamp {
                entries.removeValue(forKey: slot.key)
                return true
            }
        }
        return false
    }

    /// Keeps the ring from growing without bound: stale slots (expired or replaced entries)
    /// are dropped once they outnumber the live ones.
    private mutating func compactRing() {
        guard ring.count - head > 2 * capacity || head > capacity else { return }
        ring = ring[head...].filter { entries[$0.key]?.stamp == $0.stamp }
        head = 0
    }
}
