// The browser client the server serves at /_client/feedbase.js, with its types beside it at
// /_client/feedbase.d.ts. Their source of truth is Client/ in this module, which SwiftPM embeds
// in the binary as bytes (`.embedInCode`): Feedbase stays one file to deploy, and the served
// module is always the one of this build.

import FeedbaseModel
import NIOHTTP1

enum ClientFiles {
    struct File: Sendable {
        var bytes: [UInt8]
        var contentType: String
        /// Of the bytes: a page revalidates (`no-cache`) and gets a 304 until the binary changes.
        var etag: String
    }

    static let script = File(bytes: PackageResources.feedbase_js, contentType: "text/javascript; charset=utf-8")
    static let types = File(bytes: PackageResources.feedbase_d_ts, contentType: "application/typescript; charset=utf-8")

    static func response(_ file: File, to request: Request) -> Response {
        var headers: HTTPHeaders = ["ETag": file.etag, "Cache-Control": "no-cache"]
        if let tags = CollectionRoutes.entityTags(request.headers, "If-None-Match"), ETag.weaklyMatches(tags, file.etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers.add(name: "Content-Type", value: file.contentType)
        return Response(status: .ok, headers: headers, body: file.bytes)
    }
}

extension ClientFiles.File {
    init(bytes: [UInt8], contentType: String) {
        self.init(bytes: bytes, contentType: contentType, etag: ETag.of(bytes))
    }
}
