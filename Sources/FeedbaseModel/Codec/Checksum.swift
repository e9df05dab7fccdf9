// Content checksums (migration files): SHA-256 from swift-crypto, as lowercase hex; and hex itself.

import Crypto

package enum Checksum {
    package static func sha256(_ bytes: [UInt8]) -> String {
        Hex.lowercase(Array(SHA256.hash(data: bytes)))
    }
}

package enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    package static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
