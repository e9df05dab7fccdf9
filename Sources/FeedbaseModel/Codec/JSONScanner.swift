// The one pass of JSONBody: SQLite 3.40's json1 grammar (jsonParseValue) as a loop over an explicit
// stack of open containers, noting where each member of the top-level value lies.

extension JSONBody {
    package struct Scanner {
        package let bytes: UnsafeBufferPointer<UInt8>
        package var index = 0
        package var result = Document(type: "", members: [])
        /// The open containers, `{` or `[`.
        package var stack: [UInt8] = []
        /// The member of the top-level container being read.
        package var member = Member(value: 0..<0, type: "")

        package init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        /// The byte at `at`, or 0 past the end (SQLite reads a NUL-terminated text).
        @inline(__always) func byte(_ at: Int) -> UInt8 {
            at < bytes.count ? bytes[at] : 0
        }

        @inline(__always) mutating func skipSpace() {
            while index < bytes.count, JSONBody.isSpace(bytes[index]) { index += 1 }
        }

        package mutating func scan() -> Document? {
            skipSpace()
            while true {
                // A value starts here.
                let start = index
                if stack.count <= 1 {
                    member.value = start..<start
                    member.valueHasEscape = false
                    member.hasNonFiniteNumber = false
                }
                var type: String
                switch byte(start) {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    let opener = byte(start)
                    guard stack.count < JSONBody.maximumDepth else { return nil }
                    stack.append(opener)
                    index += 1
                    skipSpace()
                    if byte(index) == opener + 2 {  // `}` or `]`, empty
                        stack.removeLast()
                        index += 1
                        type = opener == UInt8(ascii: "{") ? "object" : "array"
                    } else {
                        if opener == UInt8(ascii: "{") { guard key() else { return nil } }
                        continue
                    }
                case UInt8(ascii: "\""):
                    guard let hasEscape = string() else { return nil }
                    if stack.count <= 1 { member.valueHasEscape = hasEscape }
                    type = "text"
                case UInt8(ascii: "t"):
                    guard literal("true") else { return nil }
                    type = "true"
                case UInt8(ascii: "f"):
                    guard literal("false") else { return nil }
                    type = "false"
                case UInt8(ascii: "n"):
                    guard literal("null") else { return nil }
                    type = "null"
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    guard let real = number() else { return nil }
                    type = real ? "real" : "integer"
                default:
                    return nil
                }
                // A value ended at `index`: close every container it completes.
                while true {
                    if stack.count == 1 {
                        member.value = member.value.lowerBound..<index
                        member.type = type
                        result.members.append(member)
                    }
                    guard let open = stack.last else {
                        result.type = type
                        if type != "object" && type != "array" {
                            // json_each of a scalar: the scalar itself, keyless.
                            member.value = start..<index
                            member.type = type
                            result.members.append(member)
                        }
                        skipSpace()
                        return index == bytes.count ? result : nil
                    }
                    skipSpace()
                    if byte(index) == UInt8(ascii: ",") {
                        index += 1
                        skipSpace()
                        if open == UInt8(ascii: "{") { guard key() else { return nil } }
                        break
                    }
                    guard byte(index) == open + 2 else { return nil }
                    index += 1
                    stack.removeLast()
                    type = open == UInt8(ascii: "{") ? "object" : "array"
                }
            }
        }

        /// An object's key and its colon, leaving `index` at the value.
        package mutating func key() -> Bool {
            guard byte(index) == UInt8(ascii: "\"") else { return false }
            let start = index
            guard let hasEscape = string() else { return false }
            if stack.count == 1 {
                member.key = start + 1..<index - 1
                member.keyHasEscape = hasEscape
            }
            skipSpace()
            guard byte(index) == UInt8(ascii: ":") else { return false }
            index += 1
            skipSpace()
            return true
        }

        /// A string from its opening quote; whether it has escapes, or nil when it is invalid.
        package mutating func string() -> Bool? {
            var at = index + 1
            var hasEscape = false
            while true {
                let byte = byte(at)
                if byte < 0x20 { return nil }  // control characters, and the end of the text
                if byte == UInt8(ascii: "\"") { break }
                guard byte == UInt8(ascii: "\\") else {
                    at += 1
                    continue
                }
                hasEscape = true
                switch self.byte(at + 1) {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    at += 2
                case UInt8(ascii: "u"):
                    guard isHex4(at + 2) else { return nil }
                    let unit = JSONBody.hex4(bytes, at + 2)
                    at += 6
                    if unit == 0 { result.hasEscapedNUL = true }
                    if unit & 0xFC00 == 0xD800, self.byte(at) == UInt8(ascii: "\\"), self.byte(at + 1) == UInt8(ascii: "u"), isHex4(at + 2),
                        JSONBody.hex4(bytes, at + 2) & 0xFC00 == 0xDC00
                    {
                        at += 6
                    } else if unit & 0xF800 == 0xD800 {
                        result.hasLoneSurrogate = true
                    }
                default:
                    return nil
                }
            }
            index = at + 1
            return hasEscape
        }

        package func isHex4(_ at: Int) -> Bool {
            guard at + 4 <= bytes.count else { return false }
            for byte in bytes[at..<at + 4] {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): continue
                default: return false
                }
            }
            return true
        }

        /// `true`, `false` or `null`, not followed by a letter or digit.
        package mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            let next = byte(index + count)
            guard !(Self.isDigit(next) || (next | 0x20 >= UInt8(ascii: "a") && next | 0x20 <= UInt8(ascii: "z"))) else { return false }
            index += count
            return true
        }

        @inline(__always) static func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }

        /// A number: RFC 8259's, checked as SQLite checks it. Whether it is a REAL (a point or an
        /// exponent), or nil when it is invalid. Notes a number beyond the float range.
        package mutating func number() -> Bool? {
            let start = index
            let first = start + (byte(start) == UInt8(ascii: "-") ? 1 : 0)
            if byte(first) == UInt8(ascii: "0"), Self.isDigit(byte(first + 1)) { return nil }
            var at = start + 1
            var seenPoint = false
            var seenExponent = false
            loop: while true {
                switch byte(at) {
                case UInt8(ascii: "0")...UInt8(ascii: "9"):
                    break
                case UInt8(ascii: "."):
                    if byte(at - 1) == UInt8(ascii: "-") || seenPoint { return nil }
                    seenPoint = true
                case UInt8(ascii: "e"), UInt8(ascii: "E"):
                    if byte(at - 1) < UInt8(ascii: "0") || seenExponent { return nil }
                    seenPoint = true
                    seenExponent = true
                    if byte(at + 1) == UInt8(ascii: "+") || byte(at + 1) == UInt8(ascii: "-") { at += 1 }
                    if !Self.isDigit(byte(at + 1)) { return nil }
                default:
                    break loop
                }
                at += 1
            }
            if byte(at - 1) < UInt8(ascii: "0") { return nil }
            index = at
            // Only an exponent or some 309 digits can leave the float range.
            if seenExponent || at - start > 300 {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
                if !(Double(text)?.isFinite ?? false) { member.hasNonFiniteNumber = true }
            }
            return seenPoint
        }
    }
}
