// The access log: one `info` line per request, one more when a stream (Server-Sent Events, a
// WebSocket) ends, with who asked and what went over the wire. The message reads as a line
// of text (`GET /tasks 200 1.234ms`); the metadata carries the fields a JSON log
// (`--log-format json`) makes queryable. An `access_token` in a target is never written.

import FeedbaseAuth
import Logging
import NIOCore

enum AccessLog {
    /// The fields of every access line: the request id, the client's address, the identity
    /// (role, subject, and an API key's id) when credentials were verified.
    static func metadata(requestID: String, address: String?, identity: Identity?) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["request-id": "\(requestID)"]
        if let address { metadata["client"] = "\(address)" }
        if let identity {
            metadata["role"] = "\(identity.role)"
            if let subject = identity.subject { metadata["sub"] = "\(subject)" }
            if case .apiKey(let id) = identity.credential { metadata["key"] = "\(id)" }
        }
        return metadata
    }

    /// Milliseconds since `started`, three decimals.
    static func milliseconds(since started: NIODeadline) -> String {
        (Double((NIODeadline.now() - started).nanoseconds) / 1_000_000).formatted3
    }
}
