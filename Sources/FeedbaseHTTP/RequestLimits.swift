// The limits on what one client may hold or send, in one place (docs/API.md, "Limits"). Each is
// answered with a problem that names it, before the request reaches SQLite (whose own limits
// would surface as a 500) or NIO's decoder gives up on it. The server's flags set them
// (`feedbase serve --help`); the defaults suit one modest machine serving many clients.

import FeedbaseModel
import NIOCore
import NIOHTTP1

public struct RequestLimits: Sendable {
    /// Connections open at once (HTTP and WebSocket alike). Past it a new connection is answered
    /// `503` with `Retry-After` and closed at once, never queued. Capped at start by the
    /// process's descriptor limit.
    public var connections = 16_384
    /// Bytes in the request target (path and query string): `414 URI Too Long` above. Kept under
    /// `headBytes`, so a long target gets its 414 and the connection stays usable.
    public var targetBytes = 16 * 1024
    /// Bytes in the request line and header fields together, where NIO's decoder stops reading:
    /// `431` above, and the connection closes (the decoder cannot resynchronise).
    public var headBytes = 80 * 1024
    /// Header fields in one request: `431` above, and the connection closes.
    public var headerCount = 100
    /// The time from a request's first byte to its last (head and body): past it `408` and the
    /// connection closes. What ends a slowloris client, which sends a byte before each idle
    /// timeout would fire.
    public var requestTimeout: TimeAmount = .seconds(30)
    /// Nesting of a JSON request body (the body itself is level 1): `400` above.
    public var jsonDepth = 64
    /// Items in one bulk create (a JSON array body): `413` above.
    public var bulkItems = 1_000
    /// The largest message a WebSocket client may send, a frame or fragments together: the
    /// socket closes with 1009 above.
    public var webSocketMessageBytes = 64 * 1024

    public init() {}

    /// Filter parameters in one listing: `400` above (`ListQuery.maximumFilters`).
    public static let filters = ListQuery.maximumFilters
    /// Items in one `in.(...)` list: `400` above.
    public static let inListItems = ListQuery.maximumInItems
    /// A band's URL in a subscribe message (which is bounded by `webSocketMessageBytes` too).
    static let bandURLBytes = 16 * 1024

    /// NIO's decoder limits, made ours: one field (the request target included) and all of them.
    var decoder: NIOHTTPDecoderLimitConfiguration {
        var configuration = NIOHTTPDecoderLimitConfiguration()
        configuration.maxHeaderFieldSize = headBytes
        configuration.maxHeaderListSize = headBytes
        return configuration
    }

    /// The nesting depth of a JSON text and, when it is an array, its items: one pass over the
    /// bytes that stops as soon as `depth` exceeds `maximumDepth`. Strings are skipped (brackets
    /// in them do not count); the text need not be valid JSON, the store checks that.
    static func shape(ofJSON body: [UInt8], maximumDepth: Int) -> (depth: Int, topLevelItems: Int?) {
        var depth = 0, deepest = 0, items: Int? = nil, inString = false, escaped = false
        for byte in body {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                if depth == 1, items == 0 { items = 1 }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                if depth == 0 { items = byte == UInt8(ascii: "[") ? 0 : nil } else if depth == 1, items == 0 { items = 1 }
                depth += 1
                deepest = max(deepest, depth)
                if deepest > maximumDepth { return (deepest, items) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 1, let count = items { items = count + 1 }
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                break
            default:
                if depth == 1, items == 0 { items = 1 }
            }
        }
        return (deepest, items)
    }
}
