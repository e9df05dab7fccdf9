// The process's log handler: swift-log's text lines on standard error by default, or one JSON
// object per line with `--log-format json` (for a log shipper). The format is chosen after the
// command line is parsed, and swift-log is bootstrapped once before that, so the handler reads
// it per line from one process-wide setting.

import FeedbaseModel
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct FeedbaseLogHandler: LogHandler {
    /// `--log-format json`: every handler writes JSON lines from then on.
    static let json = Atomic<Bool>(false)

    private var text: StreamLogHandler
    private let label: String

    public init(label: String) {
        self.label = label
        self.text = StreamLogHandler.standardError(label: label)
    }

    public var logLevel: Logger.Level {
        get { text.logLevel }
        set { text.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { text.metadata }
        set { text.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { text.metadataProvider }
        set { text.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { text[metadataKey: key] }
        set { text[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        guard Self.json.load(ordering: .relaxed) else { return text.log(event: event) }
        var merged = text.metadata
        if let provided = text.metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let given = event.metadata { merged.merge(given) { $1 } }
        var line = "{\"time\":\"" + Self.timestamp() + "\",\"level\":\"" + event.level.rawValue + "\",\"logger\":" + JSONText.quote(label)
            + ",\"source\":" + JSONText.quote(event.source) + ",\"message\":" + JSONText.quote(event.message.description)
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += "," + JSONText.quote(key) + ":" + Self.json(value)
        }
        line += "}\n"
        // One write(2) per line, so lines from several threads never mix.
        let bytes = Array(line.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                buffer.baseAddress.map { write(2, $0 + written, buffer.count - written) } ?? -1
            }
            if result <= 0 { break }
            written += result
        }
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): JSONText.quote(text)
        case .stringConvertible(let convertible): JSONText.quote(convertible.description)
        case .array(let values): "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let members): "{" + members.sorted(by: { $0.key < $1.key }).map { JSONText.quote($0.key) + ":" + json($0.value) }.joined(separator: ",") + "}"
        }
    }

    /// RFC 3339 UTC with milliseconds, without Foundation's formatters.
    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return padded(Int(parts.tm_year) + 1900, 4) + "-" + padded(Int(parts.tm_mon) + 1, 2) + "-" + padded(Int(parts.tm_mday), 2) + "T"
            + padded(Int(parts.tm_hour), 2) + ":" + padded(Int(parts.tm_min), 2) + ":" + padded(Int(parts.tm_sec), 2) + "."
            + padded(Int(now.tv_nsec) / 1_000_000, 3) + "Z"
    }
}
