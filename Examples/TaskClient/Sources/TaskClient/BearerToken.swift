// A client middleware that authenticates every request with a bearer token (an API key from
// `feedbase keys create`, or a JWT), as the document's `bearerAuth` scheme says.

import Foundation
import HTTPTypes
import OpenAPIRuntime

struct BearerToken: ClientMiddleware {
    var token: String

    func intercept(
        _ request: HTTPRequest,
        body: HTTPBody?,
        baseURL: URL,
        operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer " + token
        return try await next(request, body, baseURL)
    }
}
