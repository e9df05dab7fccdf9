// The REST API over a ResourceStore: the routes of every collection, their handlers, and the one
// place where store errors become RFC 9457 problems. Handlers never run SQL on an event loop's
// thread: they hand work to the store and answer when it calls back.

import FeedbaseAuth
import FeedbaseFeed
import FeedbaseModel
import FeedbaseOpenAPI
import Logging
import NIOCore
import NIOHTTP1

public struct API: Sendable {
    public typealias Handler = @Sendable (Request) async throws -> Response
    /// Answers through its reply closure, called once from any thread.
    public typealias CallbackHandler = @Sendable (Request, @escaping @Sendable (Result<Response, any Error>) -> Void) -> Void

    /// A route's handler. Most are async; the two hottest reads (an item, a page) are callbacks
    /// that go from the event loop straight to the store's reader threads and back, two thread
    /// hops per request where a Swift task costs four (into the concurrency pool, to the
    /// reader, back to the pool, back to the event loop).
    public enum Route: Sendable {
        case async(Handler)
        case callback(CallbackHandler)
    }

    /// A route with the metrics of its pattern.
    public struct Endpoint: Sendable {
        let route: Route
        let metrics: RouteMetrics
    }

    let store: any ResourceStore
    let logger: Logger
    let feed: FeedService?
    let policy: AccessPolicy
    /// nil: credentials are not looked at (everyone is anonymous); only with an open policy.
    let verifier: (any CredentialVerifier)?
    let crossOrigin: CrossOriginPolicy
    let rateLimiter: RateLimiter?
    let limits: RequestLimits
    /// The open feed subscriptions' credentials (the app rechecks them when the keys change).
    public let credentialWatch: CredentialWatch
    /// Set when the server begins to stop: `/_ready` is then 503.
    public let draining = Draining()
    private(set) var router = Router<Endpoint>()
    let metrics: HTTPMetrics
    /// False with `--no-metrics`: no clock is read for a request either.
    private let measuring: Bool

    /// Throws `Router.Conflict` if two of its routes capture one segment under different names.
    public init(
        store: any ResourceStore, feed: FeedService? = nil, policy: AccessPolicy = .open, verifier: (any CredentialVerifier)? = nil,
        crossOrigin: CrossOriginPolicy = .none, rateLimiter: RateLimiter? = nil, credentialWatch: CredentialWatch = CredentialWatch(),
        limits: RequestLimits = RequestLimits(), metrics exposition: MetricsExposition = .disabled, explorer: Bool = true, logger: Logger
    ) throws {
        self.metrics = HTTPMetrics(factory: exposition.factory)
        self.measuring = exposition.render != nil
        self.credentialWatch = credentialWatch
        self.limits = limits
        self.crossOrigin = crossOrigin
        self.rateLimiter = rateLimiter
        self.store = store
        self.feed = feed
        self.policy = policy
        self.verifier = verifier
        self.logger = logger
        let index = Self.indexDocument(store.schema, feed: feed != nil)
        try add(.GET, "/", .async { _ in .json(.ok, index) })
        try add(.GET, "/_health", .async { _ in
            await store.isHealthy()
                ? .json(.ok, Array(#"{"status":"ok"}"#.utf8))
                : .json(.serviceUnavailable, Array(#"{"status":"unavailable"}"#.utf8))
        })
        let draining = self.draining, hub = feed?.hub
        try add(.GET, "/_ready", .async { _ in await Readiness.check(store: store, hub: hub, draining: draining) })
        if let feed {
            let routes = FeedRoutes(store: store, feed: feed, policy: policy, verifier: verifier, credentialWatch: credentialWatch)
            try add(.GET, "/_changes", .async(routes.changes))
            try add(.GET, "/_feed", .async(routes.events))
        }
        // The documents name the server the client reached (its Host header), so that tools
        // loading them from a running server send their requests back to it.
        let schema = store.schema
        let described = feed != nil
        try add(.GET, "/openapi.json", .async { request in
            .json(.ok, OpenAPIDocument.openAPI(for: schema, feed: described, serverURL: Self.serverURL(of: request)).json())
        })
        try add(.GET, "/openapi.yaml", .async { request in
            let document = OpenAPIDocument.openAPI(for: schema, feed: described, serverURL: Self.serverURL(of: request))
            return Response(status: .ok, headers: ["Content-Type": "application/yaml; charset=utf-8"], body: Array(document.yaml().utf8))
        })
        if described {
            try add(.GET, "/asyncapi.json", .async { request in
                .json(.ok, OpenAPIDocument.asyncAPI(for: schema, serverURL: Self.serverURL(of: request)).json())
            })
        }
        if let render = exposition.render {
            let contentType = exposition.contentType
            let scrape = Route.async { request in
                try MetricsRoute.authorize(request, policy: policy, schema: schema)
                return Response(status: .ok, headers: ["Content-Type": contentType], body: await render())
            }
            // `/metrics`, where Prometheus looks by default, unless a collection has that name:
            // `/_metrics` then, which no collection can take (and always there too).
            try add(.GET, "/_metrics", scrape)
            if schema["metrics"] == nil {
                try add(.GET, "/metrics", scrape)
            } else {
                logger.notice("the collection 'metrics' has the path /metrics: the metrics are at /_metrics")
            }
        }
        try add(.POST, "/_batch", .async(BatchRoute(store: store, policy: policy).apply))
        try add(.GET, "/_client/feedbase.js", .async { ClientFiles.response(ClientFiles.script, to: $0) })
        try add(.GET, "/_client/feedbase.d.ts", .async { ClientFiles.response(ClientFiles.types, to: $0) })
        if explorer {
            try add(.GET, "/_ui", .async { ExplorerFiles.response(ExplorerFiles.page, to: $0) })
            for (name, file) in ExplorerFiles.assets {
                try add(.GET, "/_ui/" + name, .async { ExplorerFiles.response(file, to: $0) })
            }
        }
        for collection in store.schema.collections {
            let routes = CollectionRoutes(store: store, collection: collection, feed: feed, policy: policy, verifier: verifier, credentialWatch: credentialWatch)
            let items: [Router<Endpoint>.Segment] = [.literal(collection.name)]
            let item = items + [.parameter("id")]
            try add(.GET, items, .callback(routes.list))
            try add(.POST, items, .async(routes.create))
            try add(.GET, item, .callback(routes.read))
            try add(.PUT, item, .async(routes.replace))
            try add(.PATCH, item, .async(routes.patch))
            try add(.DELETE, item, .async(routes.delete))
            if let feed {
                let changes = FeedRoutes(store: store, feed: feed, policy: policy, verifier: verifier, credentialWatch: credentialWatch)
                try add(.GET, [.literal("_changes"), .literal(collection.name)], .async { try await changes.bandChanges($0, collection: collection) })
            }
        }
    }

    /// Adds a route written as a path (`:name` a parameter), labelled by that pattern.
    private mutating func add(_ method: HTTPMethod, _ path: String, _ route: Route) throws {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { segment in
            segment.hasPrefix(":") ? Router<Endpoint>.Segment.parameter(String(segment.dropFirst())) : .literal(String(segment))
        }
        try add(method, segments, route)
    }

    private mutating func add(_ method: HTTPMethod, _ segments: [Router<Endpoint>.Segment], _ route: Route) throws {
        try router.add(method, segments, Endpoint(route: route, metrics: metrics.route(method, segments)))
    }

    /// Answers one request; never throws: every failure is a problem response.
    public func respond(to request: Request) async -> Response {
        await withCheckedContinuation { continuation in
            respond(to: request) { continuation.resume(returning: $0) }
        }
    }

    /// Answers one request through `reply`, called exactly once, on any thread. Every failure
    /// is a problem response. The credentials are verified first: synchronously when the
    /// verifier knows them (no header, an API key, a JWT seen before), else on a task.
    public func respond(to request: Request, reply originalReply: @escaping @Sendable (Response) -> Void) {
        // Matched first, once: the answer is counted under the route's pattern whatever
        // answers it (the credentials refused, the rate limit, the route itself).
        // A target past the limit is not decoded at all (route answers 414 first).
        let matched = request.uri.utf8.count > limits.targetBytes
            ? nil : Router<Endpoint>.segments(of: request.path).map { router.match(request.method, $0) }
        if let preflight = crossOrigin.preflight(request) {
            if measuring { metrics.preflight.record(preflight.status, since: .now) }
            return originalReply(preflight)
        }
        let reply: @Sendable (Response) -> Void
        if measuring {
            let started = ContinuousClock.now
            let routeMetrics: RouteMetrics
            if case .found(let endpoint, _) = matched { routeMetrics = endpoint.metrics } else { routeMetrics = metrics.unmatched(request.method) }
            let inFlight = metrics.inFlight
            inFlight.increment()
            reply = { [crossOrigin] response in
                var response = response
                crossOrigin.decorate(&response, for: request)
                routeMetrics.record(response.status, since: started)
                inFlight.decrement()
                originalReply(response)
            }
        } else {
            reply = { [crossOrigin] response in
                var response = response
                crossOrigin.decorate(&response, for: request)
                originalReply(response)
            }
        }
        var request = request
        let header = Self.takeCredentials(&request)
        guard let verifier else { return admit(request, matched, reply: reply) }
        let proceed: @Sendable (Result<Identity, AuthFailure>) -> Void = { [self, request] result in
            switch result {
            case .success(let identity):
                var request = request
                request.identity = identity
                admit(request, matched) { response in
                    var response = response
                    response.identity = identity
                    reply(response)
                }
            case .failure(let failure):
                metrics.authenticationFailed(failure)
                reply(Problem.unauthorized(failure).response(instance: String(request.path), requestID: request.requestID))
            }
        }
        if let known = verifier.cachedIdentity(authorization: header) {
            proceed(known)
        } else {
            Task { proceed(await verifier.authenticate(authorization: header)) }
        }
    }

    /// Counts a WebSocket upgrade of `/_feed`, which the pipeline answers without `respond`.
    func upgraded(since started: ContinuousClock.Instant) {
        guard measuring, case .found(let endpoint, _) = router.match(.GET, ["_feed"]) else { return }
        endpoint.metrics.record(.switchingProtocols, since: started)
    }

    /// The identity of a request head (the WebSocket upgrade's), on `eventLoop`.
    func identity(_ head: HTTPRequestHead, on eventLoop: any EventLoop) -> EventLoopFuture<Result<Identity, AuthFailure>> {
        var request = Request(method: head.method, uri: head.uri, headers: head.headers, body: [], requestID: "")
        let header = Self.takeCredentials(&request)
        guard let verifier else { return eventLoop.makeSucceededFuture(.success(.anonymous)) }
        if let known = verifier.cachedIdentity(authorization: header) { return eventLoop.makeSucceededFuture(known) }
        let promise = eventLoop.makePromise(of: Result<Identity, AuthFailure>.self)
        Task { promise.succeed(await verifier.authenticate(authorization: header)) }
        return promise.futureResult
    }

    /// The request's `Authorization` header; for a feed request without one (an EventSource or
    /// a browser's WebSocket cannot set headers), its `access_token` query parameter as a Bearer
    /// token (RFC 6750 §2.3). The parameter is taken out of the URI either way, so that it is
    /// never read as a filter and never logged.
    static func takeCredentials(_ request: inout Request) -> String? {
        let header = request.headers.first(name: "Authorization")
        guard request.method == .GET, let query = request.query, query.contains("access_token") else { return header }
        let path = request.path
        let feedPath = path == "/_feed" || path == "/_changes" || path.hasPrefix("/_changes/")
        guard feedPath || FeedRoutes.prefersEventStream(request) else { return header }
        var token: String?
        let kept = query.split(separator: "&").filter { part in
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard PercentEncoding.decode(pieces[0], plusAsSpace: true) == "access_token" else { return true }
            token = pieces.count > 1 ? PercentEncoding.decode(pieces[1], plusAsSpace: true) : ""
            return false
        }
        request.uri = String(path) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
        return header ?? token.map { "Bearer " + $0 }
    }

    /// The identity's rate limit, then the route.
    private func admit(_ request: Request, _ matched: Router<Endpoint>.Match?, reply: @escaping @Sendable (Response) -> Void) {
        if let rateLimiter, let seconds = rateLimiter.admit(RateLimiter.key(request.identity, address: request.remoteAddress)) {
            metrics.rateLimited.increment()
            return reply(rateLimiter.problem(retryAfter: seconds).response(instance: String(request.path), requestID: request.requestID))
        }
        route(request, matched, reply: reply)
    }

    private func route(_ request: Request, _ matched: Router<Endpoint>.Match?, reply: @escaping @Sendable (Response) -> Void) {
        let answer: @Sendable (Result<Response, any Error>) -> Void = { [self] result in
            switch result {
            case .success(let response): reply(response)
            case .failure(let error):
                reply(problem(for: error, request: request).response(instance: String(request.path), requestID: request.requestID))
            }
        }
        do {
            guard request.uri.utf8.count <= limits.targetBytes else {
                throw Problem(.uriTooLong,
                    "the request target is \(request.uri.utf8.count) bytes long; the limit is \(limits.targetBytes) bytes (path and query string)")
            }
            if !request.body.isEmpty {
                // On the event loop, one pass over bytes already in memory: the writer thread
                // never parses a body past these limits.
                let shape = RequestLimits.shape(ofJSON: request.body, maximumDepth: limits.jsonDepth)
                guard shape.depth <= limits.jsonDepth else {
                    throw Problem(.badRequest, "the request body nests deeper than \(limits.jsonDepth) levels")
                }
                if let items = shape.topLevelItems, items > limits.bulkItems {
                    throw Problem(.payloadTooLarge, "the request body holds \(items) items; the limit is \(limits.bulkItems) items per request")
                }
            }
            guard let matched else {
                throw Problem(.badRequest, "the path is not valid percent-encoded UTF-8")
            }
            switch matched {
            case .found(let endpoint, let parameters):
                var request = request
                request.parameters = parameters
                switch endpoint.route {
                case .callback(let handler):
                    handler(request, answer)
                case .async(let handler):
                    Task { [request] in
                        do { answer(.success(try await handler(request))) } catch { answer(.failure(error)) }
                    }
                }
            case .methodNotAllowed(let allow):
                var problem = Problem(.methodNotAllowed, "\(request.method.rawValue) is not allowed here; allowed: \(allow.map(\.rawValue).joined(separator: ", "))")
                problem.headers.add(name: "Allow", value: allow.map(\.rawValue).joined(separator: ", "))
                throw problem
            case .notFound:
                throw Problem(.notFound, "nothing at \(request.path); GET / lists the collections")
            }
        } catch {
            answer(.failure(error))
        }
    }

    func problem(for error: any Error, request: Request) -> Problem {
        if let problem = error as? Problem { return problem }
        if let failure = error as? BatchFailure { return batchProblem(failure, request: request) }
        guard let error = error as? StoreError else {
            logger.error("unexpected error", metadata: ["error": "\(error)", "request-id": "\(request.requestID)"])
            return Problem(.internalServerError, "the server failed; the log has the details (request id \(request.requestID))")
        }
        let fields = error.violations.map { Problem.Item(pointer: $0.pointer, detail: $0.detail) }
        switch error.kind {
        case .notFound:
            return Problem(.notFound, error.message)
        case .forbidden:
            return Problem(.forbidden, error.message, errors: fields)
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
        case .referenced:
            return Problem(.conflict, error.message, errors: fields)
        case .foreignKey:
            // Never name a table that is not served.
            let all = collection(of: request)?.foreignKeys ?? []
            let references = all.filter { store.schema[$0.table] != nil }
            let detail = "a referenced item does not exist"
                + (references.isEmpty ? "" : " (" + references.map { "\($0.column) → \($0.table)" }.joined(separator: ", ") + ")")
            let pointers = fields.isEmpty && all.count == 1 ? [Problem.Item(pointer: "/" + all[0].column, detail: detail)] : fields
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
        case .full:
            logger.error("disk full", metadata: ["error": "\(error)", "request-id": "\(request.requestID)"])
            return Problem(.insufficientStorage, "the database's disk is full; nothing of this request was written")
        case .unavailable:
            logger.error("storage unavailable", metadata: ["error": "\(error)", "request-id": "\(request.requestID)"])
            var problem = Problem(.serviceUnavailable, "the database cannot be read or written just now; retry later (request id \(request.requestID))")
            problem.headers.add(name: "Retry-After", value: "5")
            return problem
        case .storage, .migration, .internal:
            logger.error("store failure", metadata: ["error": "\(error)", "request-id": "\(request.requestID)"])
            return Problem(.internalServerError, "the server failed; the log has the details (request id \(request.requestID))")
        }
    }

    private func collection(of request: Request) -> CollectionSchema? {
        guard let segments = Router<Endpoint>.segments(of: request.path), let name = segments.first else { return nil }
        return store.schema[name]
    }

    /// The collections and links to what this server serves (the feed only when it is on).
    /// `http://` and the request's Host when it is a plain host[:port]; nil (the documents'
    /// default) otherwise.
    static func serverURL(of request: Request) -> String? {
        guard let host = request.headers.first(name: "Host"), !host.isEmpty, host.utf8.count <= 255,
            host.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-.:[]_".unicodeScalars.contains($0)) })
        else { return nil }
        return (request.isSecure ? "https://" : "http://") + host
    }

    static func indexDocument(_ schema: Schema, feed: Bool) -> [UInt8] {
        let collections = schema.collections.map { collection in
            JSONText.object([
                ("name", JSONText.quote(collection.name)),
                ("url", JSONText.quote("/" + PercentEncoding.encode(collection.name))),
                ("key", JSONText.quote(collection.primaryKey.name)),
            ])
        }
        var members = [("collections", JSONText.array(collections))]
        if feed { members += [("feed", JSONText.quote("/_feed")), ("changes", JSONText.quote("/_changes"))] }
        members.append(("health", JSONText.quote("/_health")))
        members.append(("ready", JSONText.quote("/_ready")))
        members.append(("openapi", JSONText.quote("/openapi.json")))
        if feed { members.append(("asyncapi", JSONText.quote("/asyncapi.json"))) }
        return Array(JSONText.object(members).utf8)
    }

}
