// Base64 (RFC 4648 §4, standard alphabet) for BLOB columns. Encoding always pads; decoding is
// strict so that every BLOB has exactly one accepted spelling besides the optional padding:
// only alphabet characters, padding only at the end and only as much as the length needs, and
// the unused low bits of the last character must be zero.

package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    package static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { encode($0) }
    }

    package static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let count = bytes.count
        if count == 0 { return "" }
        let outputCount = (count + 2) / 3 * 4
        return String(unsafeUninitializedCapacity: outputCount) { out in
            var i = 0
            var o = 0
            while i + 3 <= count {
                let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
                out[o] = alphabet[Int(n >> 18 & 63)]
                out[o + 1] = alphabet[Int(n >> 12 & 63)]
                out[o + 2] = alphabet[Int(n >> 6 & 63)]
                out[o + 3] = alphabet[Int(n & 63)]
                i += 3
                o += 4
            }
            let rest = count - i
            if rest > 0 {
                var n = UInt32(bytes[i]) << 16
                if rest == 2 { n |= UInt32(bytes[i + 1]) << 8 }
                out[o] = alphabet[Int(n >> 18 & 63)]
                out[o + 1] = alphabet[Int(n >> 12 & 63)]
                out[o + 2] = rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "=")
                out[o + 3] = UInt8(ascii: "=")
                o += 4
            }
            return o
        }
    }

    /// Decodes padded or unpadded base64; nil for anything that is not canonical base64.
    package static func decode(_ text: String) -> [UInt8]? {
        var input = Array(text.utf8)
        if input.count % 4 == 0, input.last == UInt8(ascii: "=") {
            input.removeLast()
            if input.last == UInt8(ascii: "=") { input.removeLast() }
        }
        let tail = input.count % 4
        guard tail != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(input.count / 4 * 3 + 2)
        var i = 0
        var sextets: [UInt32] = [0, 0, 0, 0]
        while i < input.count {
            let chunk = min(4, input.count - i)
            for j in 0..<chunk {
                let value = reverse[Int(input[i + j])]
                guard value != 0xff else { return nil }
                sextets[j] = UInt32(value)
            }
            for j in chunk..<4 { sextets[j] = 0 }
            let n = sextets[0] << 18 | sextets[1] << 12 | sextets[2] << 6 | sextets[3]
            switch chunk {
            case 4:
                out.append(UInt8(n >> 16 & 0xff))
                out.append(UInt8(n >> 8 & 0xff))
                out.append(UInt8(n & 0xff))
            case 3:
                guard n & 0xff == 0 else { return nil }
                out.append(UInt8(n >> 16 & 0xff))
                out.append(UInt8(n >> 8 & 0xff))
            default:
                guard n & 0xffff == 0 else { return nil }
                out.append(UInt8(n >> 16 & 0xff))
            }
            i += chunk
        }
        return out
    }
}
