// A client middleware that sends header parameters as written, not percent-encoded.
//
// swift-openapi-runtime 1.x percent-encodes every header parameter value (its reading of OpenAPI
// 3.1.0; see apple/swift-openapi-generator issues #529 and #827), so `If-None-Match: "02c4357b1ede97fe"`
// goes out as `%2202c4357b1ede97fe%22` and `Prefer: count=exact` as `count%3Dexact`. HTTP does not
// percent-decode header fields, so Feedbase (rightly) sees an entity tag that matches nothing and a
// preference it does not know. OpenAPI 3.1.1 later said such headers should not be percent-encoded.

import Foundation
import HTTPTypes
import OpenAPIRuntime

struct RawHeaderValues: ClientMiddleware {
    /// The header parameters of Feedbase's document.
    var names: [HTTPField.Name] = [.ifMatch, .ifNoneMatch, HTTPField.Name("Prefer")!, HTTPField.Name("X-Request-Id")!]

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        baseURL: URL,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        for name in names where request.headerFields[name] != nil {
            // The runtime encoded every `%` too, so decoding gives back exactly the value set.
            request.headerFields[values: name] = request.headerFields[values: name].map { $0.removingPercentEncoding ?? $0 }
        }
        return try await next(request, body, baseURL)
    }
}
