// A request as the handlers see it (head, decoded path, whole body) and the response they return.

import FeedbaseAuth
import FeedbaseModel
import NIOHTTP1

public struct Request: Sendable {
    public var method: HTTPMethod
    /// The request target as sent: path and query.
    public var uri: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var requestID: String
    /// Route parameters, percent-decoded.
    public var parameters: [String: String] = [:]
    /// Who is asking, once the credentials are verified (before routing).
    public var identity: Identity = .anonymous
    /// The client's IP address (the anonymous are rate-limited by it).
    public var remoteAddress: String?
    /// Whether it came over TLS.
    public var isSecure = false

    public var path: Substring { Self.path(of: uri) }

    public var query: Substring? { Self.query(of: uri) }

    // The `?` is found among bytes, not Characters: a combining mark right after it would fuse
    // with it into one grapheme.
    static func path(of uri: String) -> Substring {
        guard let index = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return uri[...] }
        return uri[..<index]
    }

    static func query(of uri: String) -> Substring? {
        guard let index = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return nil }
        return uri[uri.utf8.index(after: index)...]
    }
}

public struct Response: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// A body written over time instead of `body`: called once the head is sent.
    public var stream: (@Sendable (ResponseStream) -> Void)?
    /// Who asked, once the credentials were verified (nil: refused, or none looked at), for
    /// the access log.
    public var identity: Identity?

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static let jsonType = "application/json; charset=utf-8"

    static func json(_ status: HTTPResponseStatus, _ body: [UInt8], headers: HTTPHeaders = [:]) -> Response {
        var response = Response(status: status, headers: headers, body: body)
        response.headers.replaceOrAdd(name: "Content-Type", value: jsonType)
        return response
    }
}

/// An RFC 9457 problem: what the handlers throw, rendered in one place as application/problem+json.
public struct Problem: Error, Sendable {
    public struct Item: Sendable {
        var pointer: String?
        var parameter: String?
        var detail: String
    }

    public var status: HTTPResponseStatus
    public var detail: String
    public var errors: [Item] = []
    public var headers: HTTPHeaders = [:]

    public init(_ status: HTTPResponseStatus, _ detail: String, errors: [Item] = []) {
        self.status = status
        self.detail = detail
        self.errors = errors
    }

    static func badParameter(_ parameter: String, _ detail: String) -> Problem {
        Problem(.badRequest, "query parameter '\(parameter)': \(detail)", errors: [Item(parameter: parameter, detail: detail)])
    }

    func response(instance: String, requestID: String) -> Response {
        var response = Response(status: status, headers: headers, body: Array(json(instance: instance, requestID: requestID).utf8))
        response.headers.replaceOrAdd(name: "Content-Type", value: "application/problem+json")
        return response
    }

    /// The problem as a JSON object.
    func json(instance: String?, requestID: String?) -> String {
        var members: [(String, String)] = [
            ("type", JSONText.quote("about:blank")),
            ("title", JSONText.quote(status.reasonPhrase)),
            ("status", String(status.code)),
            ("detail", JSONText.quote(detail)),
        ]
        if let instance { members.append(("instance", JSONText.quote(instance))) }
        if let requestID { members.append(("requestId", JSONText.quote(requestID))) }
        if !errors.isEmpty {
            members.append(("errors", JSONText.array(errors.map { item in
                var fields: [(String, String)] = []
                if let pointer = item.pointer { fields.append(("pointer", JSONText.quote(pointer))) }
                if let parameter = item.parameter { fields.append(("parameter", JSONText.quote(parameter))) }
                fields.append(("detail", JSONText.quote(item.detail)))
                return JSONText.object(fields)
            })))
        }
        return JSONText.object(members)
    }
}
