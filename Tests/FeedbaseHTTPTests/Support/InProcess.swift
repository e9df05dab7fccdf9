// The fast tier: a request answered by the app's own API in this process, with no socket, as
// Hummingbird's `.router` test mode does. For tests of what the API says before any engine is
// involved (parameter validation, documents): they run once, not per engine (docs/TESTING.md).

import Foundation
import NIOHTTP1

@testable import FeedbaseHTTP

extension TestServer {
    /// One request through `API.respond(to:)`: what the socket path would be given, with the
    /// test client's Host and a JSON body's Content-Type.
    func respond(_ method: String, _ target: String, headers: [(String, String)] = [], json: String? = nil) async -> HTTPResponse {
        var fields = HTTPHeaders([("Host", "127.0.0.1")] + headers)
        if json != nil, !fields.contains(name: "Content-Type") { fields.add(name: "Content-Type", value: "application/json") }
        var request = Request(
            method: HTTPMethod(rawValue: method), uri: target, headers: fields, body: Array((json ?? "").utf8), requestID: UUID().uuidString)
        request.remoteAddress = "127.0.0.1"
        let response = await app.api.respond(to: request)
        return HTTPResponse(
            status: Int(response.status.code), reason: response.status.reasonPhrase,
            headers: response.headers.map { (name: $0.name, value: $0.value) }, body: response.body)
    }
}
