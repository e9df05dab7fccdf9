// `feedbase serve`'s limits on what one client may hold or send (docs/API.md, "Limits"), checked
// and turned into the server's `RequestLimits`; and the descriptor limit the connection limit
// needs, raised to the hard limit at start as servers commonly do.

import ArgumentParser
import FeedbaseHTTP
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("max-connections"), help: "Connections open at once; past it a new one is answered 503 and closed (env FEEDBASE_MAX_CONNECTIONS).")
    var connections: String = environment("MAX_CONNECTIONS") ?? String(RequestLimits().connections)

    @Option(name: .customLong("max-header-bytes"), help: "Bytes in a request's line and header fields together; 431 above (env FEEDBASE_MAX_HEADER_BYTES).")
    var headBytes: String = environment("MAX_HEADER_BYTES") ?? String(RequestLimits().headBytes)

    @Option(name: .customLong("max-headers"), help: "Header fields in one request; 431 above (env FEEDBASE_MAX_HEADERS).")
    var headerCount: String = environment("MAX_HEADERS") ?? String(RequestLimits().headerCount)

    @Option(name: .customLong("max-uri-bytes"), help: "Bytes in a request target (path and query); 414 above (env FEEDBASE_MAX_URI_BYTES).")
    var targetBytes: String = environment("MAX_URI_BYTES") ?? String(RequestLimits().targetBytes)

    @Option(name: .customLong("request-timeout"), help: "Seconds from a request's first byte to its last; 408 and close past it (env FEEDBASE_REQUEST_TIMEOUT).")
    var requestTimeout: String = environment("REQUEST_TIMEOUT") ?? String(RequestLimits().requestTimeout.nanoseconds / 1_000_000_000)

    @Option(name: .customLong("max-json-depth"), help: "Nesting levels of a JSON request body; 400 above (env FEEDBASE_MAX_JSON_DEPTH).")
    var jsonDepth: String = environment("MAX_JSON_DEPTH") ?? String(RequestLimits().jsonDepth)

    @Option(name: .customLong("max-bulk-items"), help: "Items in one bulk create; 413 above (env FEEDBASE_MAX_BULK_ITEMS).")
    var bulkItems: String = environment("MAX_BULK_ITEMS") ?? String(RequestLimits().bulkItems)

    @Option(name: .customLong("ws-max-message"), help: "Bytes in one WebSocket message from a client (a frame or fragments together); the socket closes with 1009 above (env FEEDBASE_WS_MAX_MESSAGE).")
    var webSocketMessageBytes: String = environment("WS_MAX_MESSAGE") ?? String(RequestLimits().webSocketMessageBytes)

    /// The limits, checked against each other. `descriptors`: the process's descriptor limit,
    /// which caps the connections (less a reserve for the database, the log and the listener).
    func limits(descriptors: Int) throws -> (limits: RequestLimits, capped: Bool) {
        var limits = RequestLimits()
        func number(_ text: String, _ flag: String, _ range: ClosedRange<Int>, _ what: String) throws -> Int {
            guard let value = Int(text), range.contains(value) else { throw CLIError("\(source(flag)) must be \(what), not '\(text)'") }
            return value
        }
        let connections = try number(self.connections, "max-connections", 1...Int.max, "a positive number")
        let headBytes = try number(self.headBytes, "max-header-bytes", 1024...(64 << 20), "1024 to 67108864 bytes")
        let headerCount = try number(self.headerCount, "max-headers", 1...100_000, "1 to 100000")
        let targetBytes = try number(self.targetBytes, "max-uri-bytes", 256...max(256, headBytes - 512),
            "at least 256 and 512 less than --max-header-bytes (\(headBytes))")
        guard let requestTimeout = Double(self.requestTimeout), requestTimeout >= 0.1, requestTimeout <= 3600 else {
            throw CLIError("\(source("request-timeout")) must be 0.1 to 3600 seconds, not '\(self.requestTimeout)'")
        }
        let jsonDepth = try number(self.jsonDepth, "max-json-depth", 2...2000, "2 to 2000 (SQLite's own limit)")
        let bulkItems = try number(self.bulkItems, "max-bulk-items", 1...Int.max, "a positive number")
        let webSocketMessageBytes = try number(self.webSocketMessageBytes, "ws-max-message", 1024...(64 << 20), "1024 to 67108864 bytes")
        let reserve = 64
        limits.connections = max(1, min(connections, descriptors - reserve))
        limits.headBytes = headBytes
        limits.headerCount = headerCount
        limits.targetBytes = targetBytes
        limits.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))
        limits.jsonDepth = jsonDepth
        limits.bulkItems = bulkItems
        limits.webSocketMessageBytes = webSocketMessageBytes
        return (limits, limits.connections < connections)
    }

    /// Raises the soft descriptor limit to the hard one and returns it.
    static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}
