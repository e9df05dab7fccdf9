// Browsers on other origins (CORS, the Fetch standard): preflights answered before any
// credentials are looked at (a browser sends none with them), and the headers that let a page
// of an allowed origin read an answer. Credentials are bearer tokens, never cookies, so
// `Access-Control-Allow-Credentials` is never sent, and `*` is safe to allow; `Authorization`
// is named in the allowed headers, because a wildcard there does not cover it.

import NIOHTTP1

public struct CrossOriginPolicy: Sendable {
    /// Origins allowed exactly as a browser sends them (`https://app.example`), or `*` for any.
    public var origins: [String]

    public init(origins: [String] = []) {
        self.origins = origins
    }

    public static let none = CrossOriginPolicy()

    var isEnabled: Bool { !origins.isEmpty }

    static let methods = "GET, POST, PUT, PATCH, DELETE"
    static let requestHeaders = "Authorization, Content-Type, If-Match, If-None-Match, Prefer, Last-Event-ID, X-Request-Id"
    static let exposedHeaders =
        "ETag, Location, Link, Content-Range, Preference-Applied, X-Change-Seq, X-Request-Id, Retry-After, WWW-Authenticate, Allow, Accept-Patch"
    /// Seconds a browser may cache a preflight's answer.
    static let maxAge = "600"

    /// The value of `Access-Control-Allow-Origin` for a request from `origin`, or nil when it
    /// is not allowed.
    func allowedOrigin(_ origin: String) -> String? {
        if origins.contains("*") { return "*" }
        return origins.contains(origin) ? origin : nil
    }

    /// The answer to a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`),
    /// or nil when the request is not one.
    func preflight(_ request: Request) -> Response? {
        guard isEnabled, request.method == .OPTIONS, let origin = request.headers.first(name: "Origin"),
            request.headers.first(name: "Access-Control-Request-Method") != nil
        else { return nil }
        guard let allowed = allowedOrigin(origin) else {
            return Problem(.forbidden, "the origin \(origin) is not allowed (--cors-origin)")
                .response(instance: String(request.path), requestID: request.requestID)
        }
        var headers: HTTPHeaders = [
            "Access-Control-Allow-Origin": allowed, "Access-Control-Allow-Methods": Self.methods,
            "Access-Control-Allow-Headers": Self.requestHeaders, "Access-Control-Max-Age": Self.maxAge,
        ]
        if allowed != "*" { headers.add(name: "Vary", value: "Origin") }
        return Response(status: .noContent, headers: headers)
    }

    /// The response with the headers that let the page of an allowed origin read it.
    func decorate(_ response: inout Response, for request: Request) {
        decorate(&response.headers, requestHeaders: request.headers)
    }

    /// The same for an answer the connection's handler writes itself (a body or head over a
    /// limit), whose request never reached the API. `requestHeaders` is nil when the head could
    /// not be read whole (past the decoder's limit): its `Origin` is unknown, so only an answer
    /// that needs none is named, `*` or the one allowed origin (the browser compares it with its
    /// own); with several allowed origins such an answer carries none.
    func decorate(_ headers: inout HTTPHeaders, requestHeaders: HTTPHeaders?) {
        guard isEnabled else { return }
        let allowed: String
        if let requestHeaders {
            guard let origin = requestHeaders.first(name: "Origin") else { return }
            if !origins.contains("*") { headers.add(name: "Vary", value: "Origin") }
            guard let match = allowedOrigin(origin) else { return }
            allowed = match
        } else if origins.contains("*") {
            allowed = "*"
        } else if origins.count == 1 {
            allowed = origins[0]
            headers.add(name: "Vary", value: "Origin")
        } else {
            return
        }
        headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: allowed)
        headers.replaceOrAdd(name: "Access-Control-Expose-Headers", value: Self.exposedHeaders)
    }
}
