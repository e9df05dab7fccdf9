// Random request bodies for the body-reader oracle: valid JSON of every shape, with every kind of
// whitespace, number edge, string escape and key, and broken variants of it.

import FeedbaseTestSupport

struct BodyGenerator {
    var random: SeededGenerator
    /// Whether this body's strings may hold lone surrogate escapes (which the Swift reader refuses
    /// and SQLite did not: such a body is compared on that refusal alone).
    var loneSurrogates = false

    init(seed: UInt64) {
        random = SeededGenerator(seed: seed)
    }

    static let edgeNumbers = [
        "0", "-0", "0.0", "-0.0", "1E5", "1e5", "1e+5", "1E-5", "1e-400", "-1e-400", "1e999", "-1e999", "1e308", "1.8e308",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "1.5e300", "0.1", "0.30000000000000004", "5e-324", "2.4703282292062328e-324", "1.7976931348623157e308",
        "123456789012345678901234567890", "3.141592653589793238462643383279", "100", "1.0", "1e22", "1e23", "4.9e-324",
        "0e0", "-0e-0", "12345678901234567", "1" + String(repeating: "0", count: 320), "0." + String(repeating: "0", count: 330) + "1",
    ]

    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
    mutating func pick<T>(_ choices: [T]) -> T { choices[Int.random(in: 0..<choices.count, using: &random)] }

    mutating func space() -> String {
        guard chance(30) else { return "" }
        return String((0..<Int.random(in: 1...3, using: &random)).map { _ in pick([" ", "\t", "\n", "\r"]) })
    }

    mutating func number() -> String {
        if chance(30) { return pick(Self.edgeNumbers) }
        var text = chance(30) ? "-" : ""
        let digits = Int.random(in: 1...(chance(10) ? 30 : 8), using: &random)
        // A leading zero with more digits after it is invalid: sometimes.
        text += chance(15) ? "0" : String(Int.random(in: 1...9, using: &random))
        if !text.hasSuffix("0") || chance(5) { text += String((1..<digits).map { _ in pick(Array("0123456789")) }) }
        if chance(40) { text += "." + String((0..<Int.random(in: 1...(chance(10) ? 25 : 6), using: &random)).map { _ in pick(Array("0123456789")) }) }
        if chance(30) { text += pick(["e", "E"]) + pick(["", "+", "-"]) + String(Int.random(in: 0...(chance(20) ? 420 : 30), using: &random)) }
        return text
    }

    mutating func stringContent() -> String {
        var text = ""
        for _ in 0..<Int.random(in: 0...(chance(10) ? 20 : 6), using: &random) {
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1, 2: text += String(pick(Array("abcXYZ 019_-:,{}[]")))
            case 3: text += pick(["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"])
            case 4:
                let unit = pick(["0000", "001f", "001F", "0041", "007f", "0080", "00e9", "00E9", "20ac", "feff", "FFFF", "0001", "000a"])
                text += "\\u" + unit
            case 5 where loneSurrogates: text += pick(["\\ud800", "\\udc00", "\\ud83d\\u0041", "\\ud83d\\\\ude00", "\\ude00\\ud83d"])
            case 5: text += pick(["\\ud83d\\ude00", "\\uD834\\uDD1E", "\\uDBFF\\uDFFF", "\\ud800\\udc00"])
            case 6: text += pick(["é", "€", "😀", "\u{7F}", "\u{FEFF}", "中"])
            default: text += String(pick(Array("hello")))
            }
        }
        return text
    }

    mutating func key(_ previous: [String]) -> String {
        if !previous.isEmpty && chance(15) { return pick(previous) }
        if chance(10) { return "" }
        return stringContent()
    }

    mutating func value(depth: Int) -> String {
        let kind = Int.random(in: 0..<(depth > 3 ? 6 : 9), using: &random)
        switch kind {
        case 0: return pick(["true", "false", "null"])
        case 1, 2: return number()
        case 3, 4, 5: return "\"" + stringContent() + "\""
        case 6, 7: return object(depth: depth + 1)
        default: return array(depth: depth + 1)
        }
    }

    mutating func object(depth: Int) -> String {
        var keys: [String] = []
        var members: [String] = []
        for _ in 0..<Int.random(in: 0...(depth == 1 ? 10 : 4), using: &random) {
            let key = key(keys)
            keys.append(key)
            members.append(space() + "\"" + key + "\"" + space() + ":" + space() + value(depth: depth) + space())
        }
        return "{" + (members.isEmpty ? space() : members.joined(separator: ",")) + "}"
    }

    mutating func array(depth: Int) -> String {
        let elements = (0..<Int.random(in: 0...(depth == 1 ? 8 : 4), using: &random)).map { _ in space() + value(depth: depth) + space() }
        return "[" + (elements.isEmpty ? space() : elements.joined(separator: ",")) + "]"
    }

    /// A body: mostly a valid object or array, sometimes a scalar, often broken.
    mutating func body() -> [UInt8] {
        loneSurrogates = chance(5)
        let valid: String =
            switch Int.random(in: 0..<10, using: &random) {
            case 0: value(depth: 0)
            case 1, 2, 3: array(depth: 1)
            default: object(depth: 1)
            }
        var bytes = Array((space() + valid + space()).utf8)
        guard chance(45) else { return bytes }
        let at = Int.random(in: 0...bytes.count, using: &random)
        switch Int.random(in: 0..<12, using: &random) {
        case 0: bytes = Array(bytes.prefix(at))
        case 1 where !bytes.isEmpty:
            bytes[min(at, bytes.count - 1)] = pick(Array("\"\\,:{}[]x 0.-+eE'".utf8) + [0x00, 0x01, 0x0C, 0x0B, 0x1F, 0x7F, 0x80, 0xFF, 0xC3])
        case 2: bytes += Array(pick(["x", ",", "}", "]", "1", " \n", "\u{0}", "{}", "\"", " //"]).utf8)
        case 3: bytes = [0xEF, 0xBB, 0xBF] + bytes
        case 4: bytes.insert(contentsOf: pick([[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80]]), at: at)
        case 5:
            // A raw control character inside a string, when there is one.
            if let quote = bytes.firstIndex(of: UInt8(ascii: "\"")) { bytes.insert(pick([0x01, 0x09, 0x0A, 0x1F, 0x00]), at: quote + 1) }
        case 6: bytes.insert(contentsOf: Array(pick(["01", "+1", ".5", "NaN", "-", "Infinity", "1.", "00", "-01", "1e", "0x1"]).utf8), at: at)
        case 7: bytes = bytes.map { $0 == UInt8(ascii: "\"") && chance(50) ? UInt8(ascii: "'") : $0 }
        case 8:
            // A trailing comma before a closing bracket.
            if let close = bytes.lastIndex(where: { $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: "]") }) { bytes.insert(UInt8(ascii: ","), at: close) }
        case 9: bytes.insert(pick([0x0C, 0x0B, 0xA0]), at: at)
        case 10: bytes = Array(bytes.prefix(at)) + Array(bytes.prefix(at))
        default: if at < bytes.count { bytes.remove(at: at) }
        }
        return bytes
    }
}
