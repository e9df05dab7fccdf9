// Reads a JSON request body without a database: the grammar SQLite 3.40's json1 accepts (RFC 8259,
// nesting up to 2,000 levels), and each member of the top-level value as json_each reported it
// (key, type, atom, JSON text), so that every engine validates bodies alike. One pass, no
// recursion: a deep body costs a small stack of bytes, never the thread's stack.

package enum JSONBody {
    /// SQLite's JSON_MAX_DEPTH: a container nested deeper makes the text invalid.
    package static let maximumDepth = 2000

    /// What the scan learns of a valid text.
    package struct Document {
        /// json_type of the whole text.
        package var type: String
        /// The members of the top-level object or array (or the top-level scalar itself, keyless).
        package var members: [Member]
        /// Whether some string has a `\u0000` escape.
        package var hasEscapedNUL = false
        /// Whether some string has a `\uD800`-`\uDFFF` escape that is not half of a pair.
        package var hasLoneSurrogate = false
    }

    package struct Member {
        /// The key's text between its quotes (nil in an array).
        package var key: Range<Int>?
        package var keyHasEscape = false
        package var value: Range<Int>
        package var type: String
        package var valueHasEscape = false
        package var hasNonFiniteNumber = false
    }

    /// Parses `body` as SQLite 3.40 does, or returns nil where json_valid is false.
    package static func scan(_ body: [UInt8]) -> Document? {
        body.withUnsafeBufferPointer { bytes in
            var scanner = Scanner(bytes: bytes)
            return scanner.scan()
        }
    }

    /// The members of a valid text as json_each gives them (nil when it is not valid JSON).
    package static func members(of body: [UInt8]) -> [BodyField]? {
        scan(body).map { fields(of: $0, in: body) }
    }

    /// The members `scan(body)` found, as json_each gives them.
    package static func fields(of document: Document, in body: [UInt8]) -> [BodyField] {
        body.withUnsafeBufferPointer { bytes in
            document.members.enumerated().map { index, member in
                field(member, key: { document.type == "array" ? String(index) : "" }, in: bytes)
            }
        }
    }

    /// One member as json_each reports it; `key` is the key of an element (its index) or of a
    /// top-level scalar (none: "").
    private static func field(_ member: Member, key: () -> String, in bytes: UnsafeBufferPointer<UInt8>) -> BodyField {
        var field = BodyField(
            key: member.key.map { decode(bytes, $0, hasEscape: member.keyHasEscape) } ?? key(), type: member.type, atom: .null,
            json: member.type, hasNonFiniteNumber: member.hasNonFiniteNumber)
        switch member.type {
        case "true": field.atom = .integer(1)
        case "false": field.atom = .integer(0)
        case "text":
            let text = decode(bytes, member.value.lowerBound + 1..<member.value.upperBound - 1, hasEscape: member.valueHasEscape)
            field.atom = .text(text)
            // Without escapes the text holds no quote, backslash or control character: json_quote
            // gives it back as written.
            field.json = member.valueHasEscape ? quote(text) : String(decoding: UnsafeBufferPointer(rebasing: bytes[member.value]), as: UTF8.self)
        case "integer", "real":
            if member.type == "integer", let integer = int64(bytes, member.value) {
                field.atom = .integer(integer)
                field.json = String(integer)
            } else {
                let token = String(decoding: UnsafeBufferPointer(rebasing: bytes[member.value]), as: UTF8.self)
                // strtod, as SQLite's json1 reads a REAL (and an integer beyond 64 bits); the
                // scan has checked the grammar, which Double accepts whole.
                let real = Double(token) ?? 0
                field.atom = .real(real)
                field.json = real.isFinite ? RealText.text(real) : "null"
            }
        case "array", "object":
            field.json = minified(bytes, member.value)
        default: break
        }
        return field
    }

    /// An integer's value, nil beyond 64 bits (SQLite then reads it as a REAL).
    package static func int64(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int64? {
        let negative = bytes[range.lowerBound] == UInt8(ascii: "-")
        var magnitude: UInt64 = 0
        for byte in bytes[(range.lowerBound + (negative ? 1 : 0))..<range.upperBound] {
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(UInt64(byte &- UInt8(ascii: "0")))
            guard !overflow, !carry else { return nil }
            magnitude = sum
        }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// A container's text as json_each renders it: whitespace between tokens removed, strings
    /// and numbers exactly as written.
    package static func minified(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        let text = UnsafeBufferPointer(rebasing: bytes[range])
        if !text.contains(where: isSpace) { return String(decoding: text, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let start = index
                index += 1
                while bytes[index] != UInt8(ascii: "\"") { index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1 }
                index += 1
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                continue
            }
            if !isSpace(byte) { out.append(byte) }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text of a string's contents (between its quotes), escapes decoded as SQLite's
    /// jsonReturn does: a pair of surrogate escapes is one character. A lone surrogate (which
    /// `RequestBody.topLevelType` refuses) becomes U+FFFD; a `\u0000` (refused in a body too) is
    /// kept, where SQLite ended the string: only a batch's `$ref` into stored JSON meets one.
    package static func decode(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, hasEscape: Bool) -> String {
        guard hasEscape else { return String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let escaped = bytes[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(bytes, index)
                index += 4
                if scalar & 0xFC00 == 0xD800, index + 6 <= range.upperBound, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u"), hex4(bytes, index + 2) & 0xFC00 == 0xDC00
                {
                    scalar = 0x10000 + ((scalar & 0x3FF) << 10) + (hex4(bytes, index + 2) & 0x3FF)
                    index += 6
                }
                appendUTF8(Unicode.Scalar(scalar) ?? "\u{FFFD}", to: &out)
            default: out.append(escaped)  // `"`, `\`, `/`
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for byte in bytes[at..<at + 4] {
            let nibble: UInt8 =
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
                default: byte &- UInt8(ascii: "A") &+ 10
                }
            value = value << 4 | UInt32(nibble & 0xF)
        }
        return value
    }

    private static func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        out.append(contentsOf: UTF8.encode(scalar).map(Array.init) ?? [0xEF, 0xBF, 0xBD])
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// json_quote of a text: `"` and `\` escaped, control characters as `\b \t \n \f \r` or
    /// `\u00xx`, everything else (DEL, non-ASCII, `/`) as it is.
    package static func quote(_ text: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(text.utf8.count + 2)
        for byte in text.utf8 {
            let short: UInt8? =
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): byte
                case 0x08: UInt8(ascii: "b")
                case 0x09: UInt8(ascii: "t")
                case 0x0A: UInt8(ascii: "n")
                case 0x0C: UInt8(ascii: "f")
                case 0x0D: UInt8(ascii: "r")
                default: nil
                }
            if let short {
                out.append(UInt8(ascii: "\\"))
                out.append(short)
            } else if byte < 0x20 {
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 15)])
            } else {
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `bytes` is UTF-8 (as `String(validating:)` checks it: no overlong forms, no
    /// surrogates, nothing past U+10FFFF) without a NUL byte, which SQLite's text would end at.
    package static func isUTF8WithoutNUL(_ body: [UInt8]) -> Bool {
        body.withUnsafeBufferPointer { bytes in
            var index = 0
            while index < bytes.count {
                let lead = bytes[index]
                if lead < 0x80 {
                    if lead == 0 { return false }
                    index += 1
                    continue
                }
                var low: UInt8 = 0x80
                var high: UInt8 = 0xBF
                let continuations: Int
                switch lead {
                case 0xC2...0xDF: continuations = 1
                case 0xE0: continuations = 2; low = 0xA0
                case 0xED: continuations = 2; high = 0x9F
                case 0xE1...0xEF: continuations = 2
                case 0xF0: continuations = 3; low = 0x90
                case 0xF4: continuations = 3; high = 0x8F
                case 0xF1...0xF3: continuations = 3
                default: return false
                }
                guard index + continuations < bytes.count, bytes[index + 1] >= low, bytes[index + 1] <= high else { return false }
                for offset in stride(from: 2, through: continuations, by: 1) where bytes[index + offset] & 0xC0 != 0x80 { return false }
                index += continuations + 1
            }
            return true
        }
    }

    /// SQLite's JSON whitespace: space, tab, newline, carriage return (not form feed).
    @inline(__always) static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
