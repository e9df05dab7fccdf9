// The limits on the size of one request's head and on what one listing may ask, in one place
// (docs/API.md, "Limits"). Each is answered with a problem that names it, before the request
// reaches SQLite (whose own limits would surface as a 500) or NIO's decoder gives up on it.

import FeedbaseStore
import NIOHTTP1

public enum RequestLimits {
    /// Bytes in the request target (path and query string): `414 URI Too Long` above. Well under
    /// `headBytes`, so a long target gets its 414 and the connection stays usable.
    public static let targetBytes = 16 * 1024
    /// Bytes in the request line and header fields together, where NIO's decoder stops reading:
    /// `431 Request Header Fields Too Large` above, and the connection closes (the decoder cannot
    /// resynchronise). A request target longer than this also gets 431: the decoder cannot say
    /// which part overflowed.
    public static let headBytes = 80 * 1024
    /// Filter parameters in one listing: `400` above (`ListQuery.maximumFilters`).
    public static let filters = ListQuery.maximumFilters
    /// Items in one `in.(...)` list: `400` above.
    public static let inListItems = ListQuery.maximumInItems

    /// NIO's decoder limits, made ours: one field (the request target included) and all of them.
    static var decoder: NIOHTTPDecoderLimitConfiguration {
        var configuration = NIOHTTPDecoderLimitConfiguration()
        configuration.maxHeaderFieldSize = headBytes
        configuration.maxHeaderListSize = headBytes
        return configuration
    }
}
