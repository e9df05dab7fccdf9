// RFC 3339 parsing and formatting for DATETIME, DATE and TIME columns, without Foundation.
//
// Date-times are stored as `YYYY-MM-DDTHH:MM:SS.sssZ`: always UTC, always milliseconds, so text
// order is time order and SQLite's own `strftime('%Y-%m-%dT%H:%M:%fZ')` writes the same shape.
// Input accepts `T`, `t` or a space between date and time, `Z`, `z` or a `±HH:MM` offset, and any
// number of fraction digits (truncated to milliseconds). Leap seconds (`:60`) are rejected: they
// cannot be stored in UTC text that sorts correctly.

package enum Timestamp {
    /// Normalises an RFC 3339 date-time to UTC with milliseconds; nil when it is not one.
    package static func normalizeDateTime(_ text: String) -> String? {
        var scanner = Scanner(Array(text.utf8))
        guard let (year, month, day) = scanner.date(),
            let separator = scanner.next(),
            separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " "),
            let (hour, minute, second, nanos) = scanner.time()
        else { return nil }
        guard let zone = scanner.next() else { return nil }
        var offsetMinutes = 0
        switch zone {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            break
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let hours = scanner.digits(2), scanner.expect(":"), let minutes = scanner.digits(2),
                hours <= 23, minutes <= 59
            else { return nil }
            offsetMinutes = (hours * 60 + minutes) * (zone == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        guard scanner.atEnd else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60
        let milliseconds = seconds * 1000 + nanos / 1_000_000
        guard milliseconds >= minimumMilliseconds, milliseconds <= maximumMilliseconds else { return nil }
        return format(millisecondsSince1970: milliseconds)
    }

    /// `YYYY-MM-DD` with a real calendar day.
    package static func isValidDate(_ text: String) -> Bool {
        var scanner = Scanner(Array(text.utf8))
        return scanner.date() != nil && scanner.atEnd
    }

    /// `HH:MM:SS` with an optional fraction of 1 to 9 digits.
    package static func isValidTime(_ text: String) -> Bool {
        var scanner = Scanner(Array(text.utf8))
        return scanner.time() != nil && scanner.atEnd
    }

    /// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the range the text format can hold.
    package static let minimumMilliseconds = daysFromCivil(year: 0, month: 1, day: 1) * 86_400_000
    package static let maximumMilliseconds = daysFromCivil(year: 10000, month: 1, day: 1) * 86_400_000 - 1

    package static func format(millisecondsSince1970 milliseconds: Int) -> String {
        let clamped = min(max(milliseconds, minimumMilliseconds), maximumMilliseconds)
        let (days, dayMilliseconds) = floorDivide(clamped, 86_400_000)
        let (year, month, day) = civilFromDays(days)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        append(&out, year, width: 4)
        out.append(UInt8(ascii: "-"))
        append(&out, month, width: 2)
        out.append(UInt8(ascii: "-"))
        append(&out, day, width: 2)
        out.append(UInt8(ascii: "T"))
        append(&out, dayMilliseconds / 3_600_000, width: 2)
        out.append(UInt8(ascii: ":"))
        append(&out, dayMilliseconds / 60_000 % 60, width: 2)
        out.append(UInt8(ascii: ":"))
        append(&out, dayMilliseconds / 1000 % 60, width: 2)
        out.append(UInt8(ascii: "."))
        append(&out, dayMilliseconds % 1000, width: 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    private static func append(_ out: inout [UInt8], _ value: Int, width: Int) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var rest = value
        var index = width - 1
        while index >= 0 {
            digits[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
        out.append(contentsOf: digits)
    }

    private static func floorDivide(_ a: Int, _ b: Int) -> (Int, Int) {
        let q = a >= 0 ? a / b : (a - b + 1) / b
        return (q, a - q * b)
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
    package static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    package static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    package static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private struct Scanner {
        package let bytes: [UInt8]
        package var index = 0

        package init(_ bytes: [UInt8]) { self.bytes = bytes }

        package var atEnd: Bool { index == bytes.count }

        package mutating func next() -> UInt8? {
            guard index < bytes.count else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        package mutating func expect(_ character: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: character) else { return false }
            index += 1
            return true
        }

        package mutating func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for offset in 0..<count {
                let byte = bytes[index + offset]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += count
            return value
        }

        package mutating func date() -> (Int, Int, Int)? {
            guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
                (1...12).contains(month), day >= 1, day <= Timestamp.daysInMonth(year: year, month: month)
            else { return nil }
            return (year, month, day)
        }

        /// HH:MM:SS[.f{1,9}] → (hour, minute, second, nanoseconds).
        package mutating func time() -> (Int, Int, Int, Int)? {
            guard let hour = digits(2), expect(":"), let minute = digits(2), expect(":"), let second = digits(2),
                hour <= 23, minute <= 59, second <= 59
            else { return nil }
            var nanos = 0
            if expect(".") {
                var count = 0
                while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                    guard count < 9 else { return nil }
                    nanos = nanos * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                    count += 1
                    index += 1
                }
                guard count > 0 else { return nil }
                for _ in count..<9 { nanos *= 10 }
            }
            return (hour, minute, second, nanos)
        }
    }
}
