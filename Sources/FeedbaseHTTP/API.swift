// The REST API over a ResourceStore: the routes of every collection, their handlers, and the one
// place where store errors become RFC 9457 problems. Runs on Swift concurrency, never on an event
// loop's thread for longer than it takes to hand work to the store.

import FeedbaseFeed
import FeedbaseStore
import Logging
import NIOHTTP1

public struct API: Sendable {
    public typealias Handler = @Sendable (Request) async throws -> Response

    let store: any ResourceStore
    let logger: Logger
    let feed: FeedService?
    private(set) var router = Router<Handler>()

    public init(store: any ResourceStore, feed: FeedService? = nil, logger: Logger) {
        self.store = store
        self.feed = feed
        self.logger = logger
        let index = Self.indexDocument(store.schema, feed: feed != nil)
        router.add(.GET, "/") { _ in .json(.ok, index) }
        router.add(.GET, "/_health") { _ in
            await store.isHealthy()
                ? .json(.ok, Array(#"{"status":"ok"}"#.utf8))
                : .json(.serviceUnavailable, Array(#"{"status":"unavailable"}"#.utf8))
        }
        if let feed {
            let routes = FeedRoutes(store: store, feed: feed)
            router.add(.GET, "/_changes", routes.changes)
            router.add(.GET, "/_feed", routes.events)
        }
        for collection in store.schema.collections {
            let routes = CollectionRoutes(store: store, collection: collection)
            let items: [Router<Handler>.Segment] = [.literal(collection.name)]
            let item = items + [.parameter("id")]
            router.add(.GET, items, routes.list)
            router.add(.POST, items, routes.create)
            router.add(.GET, item, routes.read)
            router.add(.PUT, item, routes.replace)
            router.add(.PATCH, item, routes.patch)
            router.add(.DELETE, item, routes.delete)
        }
    }

    /// Answers one request; never throws: every failure is a problem response.
    public func respond(to request: Request) async -> Response {
        do {
            guard let segments = Router<Handler>.segments(of: request.path) else {
                throw Problem(.badRequest, "the path is not valid percent-encoded UTF-8")
            }
            switch router.match(request.method, segments) {
            case .found(let handler, let parameters):
                var request = request
                request.parameters = parameters
                return try await handler(request)
            case .methodNotAllowed(let allow):
                var problem = Problem(.methodNotAllowed, "\(request.method.rawValue) is not allowed here; allowed: \(allow.map(\.rawValue).joined(separator: ", "))")
                problem.headers.add(name: "Allow", value: allow.map(\.rawValue).joined(separator: ", "))
                throw problem
            case .notFound:
                throw Problem(.notFound, "nothing at \(request.path); GET / lists the collections")
            }
        } catch {
            return problem(for: error, request: request).response(instance: String(request.path), requestID: request.requestID)
        }
    }

    func problem(for error: any Error, request: Request) -> Problem {
        if let problem = error as? Problem { return problem }
        guard let error = error as? StoreError else {
            logger.error("unexpected error", metadata: ["error": "\(error)", "request-id": "\(request.requestID)"])
            return Problem(.internalServerError, "the server failed; the log has the details (request id \(request.requestID))")
        }
        let fields = error.violations.map { Problem.Item(pointer: $0.pointer, detail: $0.detail) }
        switch error.kind {
        case .notFound:
            return Problem(.notFound, error.message)
        case .malformed:
            return Problem(.badRequest, error.message, errors: fields)
        case .invalid:
            return Problem(.unprocessableEntity, error.message, errors: fields)
        case .badQuery:
            return Problem.badParameter(error.parameter ?? "", error.message)
        case .conflict:
            let columns = error.columns.joined(separator: ", ")
            return Problem(.conflict, columns.isEmpty ? "the item conflicts with an existing one" : "another item already has this \(columns)",
                errors: fields.isEmpty ? error.columns.map { Problem.Item(pointer: "/" + $0, detail: "must be unique") } : fields)
        case .foreignKey:
            let references = collection(of: request)?.foreignKeys ?? []
            let detail = "a referenced item does not exist"
                + (references.isEmpty ? "" : " (" + references.map { "\($0.column) → \($0.table)" }.joined(separator: ", ") + ")")
            let pointers = fields.isEmpty && references.count == 1 ? [Problem.Item(pointer: "/" + references[0].column, detail: detail)] : fields
            return Problem(.unprocessableEntity, detail, errors: pointers)
        case .constraint:
            let detail = error.columns.isEmpty ? "the item violates a constraint of the table" : "violates a constraint of the table"
            return Problem(.unprocessableEntity, detail,
                errors: fields.isEmpty ? error.columns.map { Problem.Item(pointer: "/" + $0, detail: detail) } : fields)
        case .preconditionFailed:
            var problem = Problem(.preconditionFailed, error.message)
            if let etag = error.currentETag { problem.headers.add(name: "ETag", value: etag) }
            return problem
        case .busy:
            var problem = Problem(.serviceUnavailable, "the database is busy; retry shortly")
            problem.headers.add(name: "Retry-After", value: "1")
            return problem
        case .storage, .migration, .internal:
            logger.error("store failure", metadata: ["error": "\(error)", "request-id": "\(request.requestID)"])
            return Problem(.internalServerError, "the server failed; the log has the details (request id \(request.requestID))")
        }
    }

    private func collection(of request: Request) -> Collection? {
        guard let segments = Router<Handler>.segments(of: request.path), let name = segments.first else { return nil }
        return store.schema[name]
    }

    /// The collections and links to what this server serves (the feed only when it is on).
    static func indexDocument(_ schema: Schema, feed: Bool) -> [UInt8] {
        let collections = schema.collections.map { collection in
            JSONText.object([
                ("name", JSONText.quote(collection.name)),
                ("url", JSONText.quote("/" + PercentEncoding.encode(collection.name))),
            ])
        }
        var members = [("collections", JSONText.array(collections))]
        if feed { members += [("feed", JSONText.quote("/_feed")), ("changes", JSONText.quote("/_changes"))] }
        members.append(("health", JSONText.quote("/_health")))
        return Array(JSONText.object(members).utf8)
    }

}

/// The six operations of one collection.
struct CollectionRoutes: Sendable {
    let store: any ResourceStore
    let collection: Collection

    var name: String { collection.name }
    var basePath: String { "/" + PercentEncoding.encode(collection.name) }

    func list(_ request: Request) async throws -> Response {
        let pairs = try QueryParameters.pairs(request.query)
        var query = try QueryParameters.listQuery(pairs)
        let prefer = request.headers["Prefer"].flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces.lowercased() }
        query.count = prefer.contains("count=exact")
        let page = try await store.list(in: name, query: query)
        var headers = HTTPHeaders()
        if let next = page.next {
            let kept = pairs.filter { $0.0 != "after" && $0.0 != "offset" }
                .map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }
            let link = basePath + "?" + (kept + ["after=" + next]).joined(separator: "&")
            headers.add(name: "Link", value: "<\(link)>; rel=\"next\"")
        }
        if let total = page.total {
            headers.add(name: "Preference-Applied", value: "count=exact")
            let range = page.itemCount == 0 ? "*" : "\(page.start)-\(page.start + page.itemCount - 1)"
            headers.add(name: "Content-Range", value: "\(range)/\(total)")
        }
        seq(page.seq, &headers)
        return .json(.ok, page.json, headers: headers)
    }

    /// `X-Change-Seq`: the change log's head as of this response (absent with the feed off).
    private func seq(_ seq: Int64, _ headers: inout HTTPHeaders) {
        if store.feedEnabled { headers.replaceOrAdd(name: "X-Change-Seq", value: String(seq)) }
    }

    func read(_ request: Request) async throws -> Response {
        let id = request.parameters["id"] ?? ""
        guard let item = try await store.item(in: name, id: id) else {
            throw Problem(.notFound, "no item '\(id)' in \(name)")
        }
        let etag = item.etag
        var headers: HTTPHeaders = ["ETag": etag]
        seq(item.seq, &headers)
        if let tags = Self.entityTags(request.headers, "If-None-Match"),
            tags.contains(where: { $0 == "*" || Self.weakTag($0) == etag })
        {
            return Response(status: .notModified, headers: headers)
        }
        return .json(.ok, item.json, headers: headers)
    }

    func create(_ request: Request) async throws -> Response {
        try Self.requireJSON(request)
        let created = try await store.create(in: name, body: request.body)
        if created.isArray {
            var body: [UInt8] = [UInt8(ascii: "[")]
            for (index, item) in created.items.enumerated() {
                if index > 0 { body.append(UInt8(ascii: ",")) }
                body += item.json
            }
            body.append(UInt8(ascii: "]"))
            var headers = HTTPHeaders()
            seq(created.seq, &headers)
            return .json(.created, body, headers: headers)
        }
        let item = created.items[0]
        var headers: HTTPHeaders = ["Location": location(of: item), "ETag": item.etag]
        seq(created.seq, &headers)
        return .json(.created, item.json, headers: headers)
    }

    func replace(_ request: Request) async throws -> Response {
        try Self.requireJSON(request)
        let id = request.parameters["id"] ?? ""
        let (item, wasCreated) = try await store.replace(in: name, id: id, body: request.body, preconditions: Self.preconditions(request))
        var headers: HTTPHeaders = ["ETag": item.etag]
        if wasCreated { headers.add(name: "Location", value: location(of: item)) }
        seq(item.seq, &headers)
        return .json(wasCreated ? .created : .ok, item.json, headers: headers)
    }

    func patch(_ request: Request) async throws -> Response {
        try Self.requireJSON(request)
        let id = request.parameters["id"] ?? ""
        let item = try await store.patch(in: name, id: id, body: request.body, preconditions: Self.preconditions(request))
        var headers: HTTPHeaders = ["ETag": item.etag]
        seq(item.seq, &headers)
        return .json(.ok, item.json, headers: headers)
    }

    func delete(_ request: Request) async throws -> Response {
        let id = request.parameters["id"] ?? ""
        let changeSeq = try await store.delete(in: name, id: id, preconditions: Self.preconditions(request))
        var headers = HTTPHeaders()
        seq(changeSeq, &headers)
        return Response(status: .noContent, headers: headers)
    }

    private func location(of item: Item) -> String {
        basePath + "/" + PercentEncoding.encode(item.id)
    }

    /// Bodies must be JSON: `application/json`, `application/merge-patch+json`, any `application/*+json`.
    static func requireJSON(_ request: Request) throws {
        let mediaType = request.headers.first(name: "Content-Type")?
            .split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces.lowercased() }
        guard let mediaType, mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
            var problem = Problem(.unsupportedMediaType,
                "the request body must be JSON: send Content-Type: application/json (with curl: -H 'Content-Type: application/json')")
            problem.headers.add(name: "Accept-Patch", value: "application/merge-patch+json, application/json")
            throw problem
        }
        guard !request.body.isEmpty else { throw Problem(.badRequest, "the request body is empty; send a JSON object") }
    }

    static func preconditions(_ request: Request) -> Preconditions {
        Preconditions(ifMatch: entityTags(request.headers, "If-Match"), ifNoneMatch: entityTags(request.headers, "If-None-Match"))
    }

    /// The entity tags of a conditional header, or nil when it is absent.
    static func entityTags(_ headers: HTTPHeaders, _ name: String) -> [String]? {
        let values = headers[name]
        guard !values.isEmpty else { return nil }
        return values.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces }.filter { !$0.isEmpty }
    }

    /// A tag without its weakness marker, for the weak comparison of If-None-Match on GET.
    static func weakTag(_ tag: String) -> String { tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
