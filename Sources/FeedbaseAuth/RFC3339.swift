// Unix seconds as RFC 3339 text (UTC, `2030-01-31T12:00:00Z`) and back: for refusals
// ("expired at …"), `feedbase keys list` and `--expires`. Times outside years 1–9999 are
// shown at the nearest end of that range.

import Foundation

public enum RFC3339 {
    private static let earliest: Int64 = -62_135_596_800  // 0001-01-01T00:00:00Z
    /// The last second RFC 3339 text can show: 9999-12-31T23:59:59Z.
    public static let latest: Int64 = 253_402_300_799

    public static func format(_ seconds: Int64) -> String {
        let clamped = min(max(seconds, earliest), latest)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(clamped)))
    }

    static func format(_ seconds: Double) -> String { format(wholeSeconds(seconds)) }

    /// Seconds rounded down, saturating instead of trapping on a huge `exp`.
    static func wholeSeconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite else { return seconds > 0 ? .max : .min }
        if seconds >= 9.0e18 { return .max }
        if seconds <= -9.0e18 { return .min }
        return Int64(seconds.rounded(.down))
    }

    /// An RFC 3339 date-time with a zone (`Z` or `±HH:MM`), fractional seconds allowed
    /// (dropped); nil for anything else.
    public static func parse(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return wholeSeconds(date.timeIntervalSince1970) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map { wholeSeconds($0.timeIntervalSince1970) }
    }
}
