// The REST routes of one collection: list (or its live query), read, create, replace, patch,
// delete, each asking the access policy for the identity's `Access` before the store.

import FeedbaseAuth
import FeedbaseFeed
import FeedbaseModel
import NIOHTTP1

/// The six operations of one collection.
struct CollectionRoutes: Sendable {
    let store: any ResourceStore
    let collection: CollectionSchema
    let feed: FeedService?
    let policy: AccessPolicy
    let verifier: (any CredentialVerifier)?
    let credentialWatch: CredentialWatch

    var name: String { collection.name }

    /// The identity's access to this collection; `action` must be granted on some rows.
    private func access(_ request: Request, _ action: AccessRules.Action, _ what: @autoclosure () -> String) throws(Problem) -> Access {
        let access = policy.access(request.identity, collection)
        let scope: RowScope = switch action {
        case .read: access.read
        case .create: access.create
        case .update: access.update
        case .delete: access.delete
        }
        guard scope.isAllowed else { throw Problem.denied(request.identity, what()) }
        return access
    }
    var basePath: String { "/" + PercentEncoding.encode(collection.name) }

    /// Each embedded relation's read rule for the caller, as if its collection were listed
    /// directly: a collection it may not list refuses the request alike (403 or 401).
    private func applyReadRules(_ embeds: inout [Embed], parent: CollectionSchema, identity: Identity) throws {
        for index in embeds.indices {
            let relation = try Relation.resolve(embeds[index].relation, hint: embeds[index].hint, from: parent, in: store.schema)
            switch policy.access(identity, relation.target.name).read {
            case .none: throw Problem.denied(identity, "list \(relation.target.name)")
            case .all: break
            case .rows(let rule): embeds[index].rule = rule
            }
            try applyReadRules(&embeds[index].embeds, parent: relation.target, identity: identity)
        }
    }

    func list(_ request: Request, reply: @escaping @Sendable (Result<Response, any Error>) -> Void) {
        if let feed, FeedRoutes.prefersEventStream(request) {
            Task {
                do { reply(.success(try await bandStream(request, feed: feed))) } catch { reply(.failure(error)) }
            }
            return
        }
        let pairs: [(String, String)]
        var query: ListQuery
        do {
            let access = try access(request, .read, "list \(name)")
            pairs = try QueryParameters.pairs(request.query)
            query = try QueryParameters.listQuery(pairs)
            if case .rows(let rule) = access.read { query.rule = rule }
            try applyReadRules(&query.embeds, parent: collection, identity: request.identity)
        } catch {
            return reply(.failure(error))
        }
        let prefer = request.headers["Prefer"].flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces.lowercased() }
        query.count = prefer.contains("count=exact")
        store.list(in: name, query: query) { [self] result in
            reply(result.map { page in
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
            })
        }
    }

    /// The listing's URL asked as `text/event-stream`: its filter (and select) as a band, live.
    /// `since` (or `Last-Event-ID`) is where the stream starts; order and pages do not apply.
    private func bandStream(_ request: Request, feed: FeedService) async throws -> Response {
        let rule = try policy.readRule(request.identity, collection.name)
        var band = try await BandRequest.make(
            collection, pairs: try QueryParameters.pairs(request.query), store: store, maxFilters: feed.bandFilters, rule: rule)
        // As for `/_feed`: `Last-Event-ID` (an EventSource reconnecting) wins over the URL's `since`.
        if let last = request.headers.first(name: "Last-Event-ID").flatMap({ Int64($0) }), last >= 0 { band.since = last }
        return try await FeedRoutes(store: store, feed: feed, policy: policy, verifier: verifier, credentialWatch: credentialWatch)
            .eventStream(since: band.since, collections: [name], band: band.band, identity: request.identity)
    }

    /// `X-Change-Seq`: the change log's head as of this response (absent with the feed off).
    private func seq(_ seq: Int64, _ headers: inout HTTPHeaders) {
        if store.feedEnabled { headers.replaceOrAdd(name: "X-Change-Seq", value: String(seq)) }
    }

    func read(_ request: Request, reply: @escaping @Sendable (Result<Response, any Error>) -> Void) {
        let id = request.parameters["id"] ?? ""
        let access: Access
        var query: ListQuery
        do {
            access = try self.access(request, .read, "read \(name)")
            // `select` (and the parameters of its embedded relations) shape the item too.
            query = try QueryParameters.itemQuery(try QueryParameters.pairs(request.query))
            try applyReadRules(&query.embeds, parent: collection, identity: request.identity)
        } catch {
            return reply(.failure(error))
        }
        let respond: @Sendable (Result<Item?, any Error>) -> Void = { [self] result in
            reply(result.flatMap { item in
                guard let item else { return .failure(Problem(.notFound, "no item '\(id)' in \(name)")) }
                let etag = item.etag
                var headers: HTTPHeaders = ["ETag": etag]
                seq(item.seq, &headers)
                if let tags = Self.entityTags(request.headers, "If-None-Match"), ETag.weaklyMatches(tags, etag) {
                    return .success(Response(status: .notModified, headers: headers))
                }
                return .success(.json(.ok, item.json, headers: headers))
            })
        }
        guard query.select != nil || !query.embeds.isEmpty else { return store.item(in: name, id: id, access: access, completion: respond) }
        query.filters = [Filter(column: collection.primaryKey.name, op: .eq, operand: .value(id))]
        query.limit = 1
        if case .rows(let rule) = access.read { query.rule = rule }
        let key = collection.primaryKey.name
        store.list(in: name, query: query) { result in
            switch result {
            case .success(let page):
                // The page's one item, without the array's brackets.
                respond(.success(page.itemCount == 1 ? Item(id: id, json: Array(page.json.dropFirst().dropLast()), seq: page.seq) : nil))
            case .failure(let error as StoreError) where error.kind == .badQuery && error.parameter == key:
                respond(.success(nil))  // an id that is not of the key's type: no such item
            case .failure(let error):
                respond(.failure(error))
            }
        }
    }

    func create(_ request: Request) async throws -> Response {
        let access = try access(request, .create, "create items in \(name)")
        try Self.requireJSON(request)
        let created = try await store.create(in: name, body: request.body, access: access)
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
        // PUT creates or replaces: either grant lets it through; the store tells which applies.
        let access = policy.access(request.identity, collection)
        guard access.create.isAllowed || access.update.isAllowed else { throw Problem.denied(request.identity, "replace items in \(name)") }
        try Self.requireJSON(request)
        let id = request.parameters["id"] ?? ""
        let (item, wasCreated) = try await store.replace(
            in: name, id: id, body: request.body, preconditions: Self.preconditions(request), access: access)
        var headers: HTTPHeaders = ["ETag": item.etag]
        if wasCreated { headers.add(name: "Location", value: location(of: item)) }
        seq(item.seq, &headers)
        return .json(wasCreated ? .created : .ok, item.json, headers: headers)
    }

    func patch(_ request: Request) async throws -> Response {
        let access = try access(request, .update, "change items in \(name)")
        try Self.requireJSON(request)
        let id = request.parameters["id"] ?? ""
        let item = try await store.patch(in: name, id: id, body: request.body, preconditions: Self.preconditions(request), access: access)
        var headers: HTTPHeaders = ["ETag": item.etag]
        seq(item.seq, &headers)
        return .json(.ok, item.json, headers: headers)
    }

    func delete(_ request: Request) async throws -> Response {
        let access = try access(request, .delete, "delete items in \(name)")
        let id = request.parameters["id"] ?? ""
        let changeSeq = try await store.delete(in: name, id: id, preconditions: Self.preconditions(request), access: access)
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
}

extension StringProtocol {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
