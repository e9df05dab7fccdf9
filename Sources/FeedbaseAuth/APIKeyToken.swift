// API key tokens: `fbk_` + base64url (no padding) of 32 random bytes, and the one form in which
// they are kept, the lowercase hex SHA-256 of the whole token. Both from swift-crypto.

import Crypto

public enum APIKeyToken {
    /// Every API key token starts with this, which tells a key from a JWT without parsing.
    public static let prefix = "fbk_"

    /// A new token: 256 bits from swift-crypto's secure random generator.
    public static func generate() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        return prefix + Base64URL.encode(bytes)
    }

    /// What `_feedbase_keys.hash` holds for `token`.
    public static func hash(_ token: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in SHA256.hash(data: Array(token.utf8)) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Base64url without padding (RFC 4648 §5), as JWTs and API key tokens use it.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var n = UInt32(bytes[index]) << 16
            if count > 1 { n |= UInt32(bytes[index + 1]) << 8 }
            if count > 2 { n |= UInt32(bytes[index + 2]) }
            for position in 0...count { out.append(alphabet[Int(n >> UInt32(18 - 6 * position) & 63)]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for anything that is not unpadded base64url (padding, other alphabets, a dangling
    /// character, or unused low bits set: one spelling per byte string).
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        guard text.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in text {
            let value = reverse[Int(character)]
            guard value != 0xff else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        guard accumulator == 0 else { return nil }
        return out
    }
}
