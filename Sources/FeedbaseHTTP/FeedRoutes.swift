// The feed over HTTP: `GET /_changes` (catch-up, with long-poll) and `GET /_feed` as
// Server-Sent Events. The WebSocket form of `/_feed` is upgraded in the pipeline
// (WebSocketFeed.swift) with the same parameters, checked by `FeedRequest.parse`.

import FeedbaseAuth
import FeedbaseFeed
import FeedbaseModel
import NIOCore
import NIOHTTP1
import Synchronization

/// The feed's parts the HTTP layer needs.
public struct FeedService: Sendable {
    public var hub: ChangeHub
    /// Interval of WebSocket pings and SSE comment heartbeats.
    public var heartbeat: TimeAmount
    /// How long a WebSocket that is being closed may take to read what was queued before its
    /// close frame; a client that reads nothing is then disconnected.
    public var closeTimeout: TimeAmount
    /// Band subscriptions one WebSocket may hold at once.
    public var bandsPerConnection: Int
    /// Filter conditions one band may have (each is judged on every change it is looked up for).
    public var bandFilters: Int

    /// The defaults: FeedConfiguration and the command line take theirs from here.
    public static let defaults = (heartbeat: TimeAmount.seconds(30), closeTimeout: TimeAmount.seconds(10), bandsPerConnection: 100, bandFilters: 200)

    public init(
        hub: ChangeHub, heartbeat: TimeAmount = defaults.heartbeat, closeTimeout: TimeAmount = defaults.closeTimeout,
        bandsPerConnection: Int = defaults.bandsPerConnection, bandFilters: Int = defaults.bandFilters
    ) {
        self.hub = hub
        self.heartbeat = heartbeat
        self.closeTimeout = closeTimeout
        self.bandsPerConnection = bandsPerConnection
        self.bandFilters = bandFilters
    }
}

/// `since` and `collections` of a feed request, checked against the schema.
struct FeedRequest: Sendable {
    var since: Int64?
    var collections: Set<String>?
    /// `mode=bands` (WebSocket only): no firehose; the socket carries the bands it subscribes to.
    var bandsOnly = false

    static func parse(_ pairs: [(String, String)], lastEventID: String?, schema: Schema, webSocket: Bool = false) throws(Problem) -> FeedRequest {
        var request = FeedRequest()
        for (name, value) in pairs {
            switch name {
            case "since":
                guard let since = Int64(value), since >= 0 else { throw Problem.badParameter(name, "expected a change seq (a whole number), got '\(value)'") }
                request.since = since
            case "collections":
                let names = QueryParameters.split(value, at: ",").filter { !$0.isEmpty }
                for collection in names where schema[collection] == nil {
                    throw Problem(.notFound, "no collection named '\(collection)'", errors: [Problem.Item(parameter: name, detail: "unknown collection '\(collection)'")])
                }
                request.collections = names.isEmpty ? nil : Set(names)
            case "mode" where webSocket:
                guard value == "bands" else { throw Problem.badParameter(name, "the only mode is bands (a socket for band subscriptions only)") }
                request.bandsOnly = true
            case "limit", "wait":
                break
            case "access_token":
                break  // the credentials, taken by the API (and by the WebSocket upgrade)
            default:
                throw Problem.badParameter(name, "unknown parameter; the feed takes since and collections")
            }
        }
        if request.bandsOnly && (request.since != nil || request.collections != nil) {
            throw Problem.badParameter("mode", "a socket for bands takes no since or collections: each subscribe message has its own")
        }
        // `Last-Event-ID` wins over `since`: an EventSource keeps the URL it was opened with
        // (its `since`) and adds the header on every reconnect, naming what it already has.
        if let lastEventID, let since = Int64(lastEventID), since >= 0 { request.since = since }
        return request
    }
}

struct FeedRoutes: Sendable {
    /// A `/_changes` page stops at the event whose JSON reaches this many bytes (it still holds
    /// at least one event); `last_seq` then says where to continue.
    static let pageBytes = 4 << 20

    let store: any ResourceStore
    let feed: FeedService
    let policy: AccessPolicy
    let verifier: (any CredentialVerifier)?
    let credentialWatch: CredentialWatch

    /// The firehose (every change of some collections) is for identities that may read every
    /// row of them; anyone else follows bands, which the read rules narrow.
    static func requireFirehose(_ request: FeedRequest, identity: Identity, policy: AccessPolicy, schema: Schema) throws(Problem) {
        guard !policy.isOpen else { return }
        let collections = request.collections.map { Array($0) } ?? schema.collections.map(\.name)
        guard policy.readsEverything(identity, collections) else {
            throw Problem.denied(identity, "follow every change of \(request.collections == nil ? "every collection" : collections.sorted().joined(separator: ", ")) "
                + "(the rules restrict what you may read: follow a band instead, such as GET /_changes/{collection} or a listing as text/event-stream)")
        }
    }

    /// `GET /_changes?since=&collections=&limit=&wait=` → `{"changes":[...],"last_seq":N}`.
    func changes(_ request: Request) async throws -> Response {
        let pairs = try QueryParameters.pairs(request.query)
        let feedRequest = try FeedRequest.parse(pairs, lastEventID: nil, schema: store.schema)
        try Self.requireFirehose(feedRequest, identity: request.identity, policy: policy, schema: store.schema)
        let (limit, wait) = try Self.pageParameters(pairs)
        // Without since, seq > 0 starts at the oldest event kept.
        let after = feedRequest.since ?? 0
        var batch = try await store.changes(after: after, collections: feedRequest.collections, limit: limit, maxBytes: Self.pageBytes)
        if let since = feedRequest.since, batch.isPruned(after: since) {
            throw Problem(.gone, "events after \(since) were pruned (the oldest kept is \(batch.oldest)); re-read the collections, then continue from X-Change-Seq")
        }
        let deadline = ContinuousClock.now + .seconds(wait)
        while batch.events.isEmpty && ContinuousClock.now < deadline {
            await feed.hub.waitForChange(after: batch.head, timeout: deadline - ContinuousClock.now)
            // The server is stopping: answer now with what there is (the store closes next).
            if await feed.hub.isStopped { break }
            batch = try await store.changes(after: after, collections: feedRequest.collections, limit: limit, maxBytes: Self.pageBytes)
        }
        try Self.requireStillValid(request.identity, verifier)
        let last = batch.reached
        var body = Array(#"{"changes":["#.utf8)
        for (index, event) in batch.events.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += event.json
        }
        body += Array(#"],"last_seq":\#(last)}"#.utf8)
        return .json(.ok, body, headers: ["X-Change-Seq": String(batch.head)])
    }

    /// A long-poll answers when a change comes or its wait ends, up to a minute after its
    /// credentials were checked: they must still hold when the answer goes out, or it is a 401
    /// (a key revoked or expired, a token past its `exp`, during the wait).
    static func requireStillValid(_ identity: Identity, _ verifier: (any CredentialVerifier)?) throws(Problem) {
        let now = CredentialClock.now()
        guard let verifier, !verifier.isValid(identity, at: now) else { return }
        if let expiresAt = identity.expiresAt, now >= expiresAt {
            throw Problem.unauthorized(.invalidToken("the credentials expired at \(RFC3339.format(expiresAt)) while the request waited"))
        }
        throw Problem.unauthorized(.invalidToken("the API key was revoked while the request waited"))
    }

    /// `limit` (1 to 1000, 100) and `wait` (0 to 60 seconds, 0) of a `/_changes` request.
    private static func pageParameters(_ pairs: [(String, String)]) throws(Problem) -> (limit: Int, wait: Int) {
        var limit = 100
        var wait = 0
        for (name, value) in pairs {
            if name == "limit" {
                guard let value = Int(value), (1...1000).contains(value) else { throw Problem.badParameter(name, "expected 1 to 1000") }
                limit = value
            } else if name == "wait" {
                guard let value = Int(value), (0...60).contains(value) else { throw Problem.badParameter(name, "expected 0 to 60 seconds") }
                wait = value
            }
        }
        return (limit, wait)
    }

    /// `GET /_changes/{collection}?{filters}&select=&since=&limit=&wait=`: a band's messages after
    /// `since`, as `{"changes":[...],"last_seq":N}`. The log is scanned in pages; `last_seq` moves
    /// past events that are not for the band, so the next request starts there even when
    /// nothing matched (at most `scanLimit` events are read per request).
    func bandChanges(_ request: Request, collection: CollectionSchema) async throws -> Response {
        let pairs = try QueryParameters.pairs(request.query)
        let (limit, wait) = try Self.pageParameters(pairs)
        let rule = try policy.readRule(request.identity, collection.name)
        let band = try await BandRequest.make(collection, pairs: pairs, store: store, maxFilters: feed.bandFilters, rule: rule, passing: ["wait"])
        let deadline = ContinuousClock.now + .seconds(wait)
        var after = band.since ?? 0
        var messages: [[UInt8]] = []
        var scanned = 0
        var head: Int64 = 0
        scanning: while true {
            let batch = try await store.changes(after: after, collections: [collection.name], limit: 500, maxBytes: Self.pageBytes)
            head = batch.head
            // Without since, the first page starts at the oldest event kept.
            if band.since != nil || after > 0, batch.isPruned(after: after) {
                // Events after `after` were pruned: what was collected goes out, and the next
                // request (from `last_seq`) gets the 410.
                guard messages.isEmpty else { break }
                throw Problem(.gone, "events after \(after) were pruned (the oldest kept is \(batch.oldest)); re-read the collection, then continue from X-Change-Seq")
            }
            for event in batch.events {
                if let message = band.band.message(for: event) { messages.append(message) }
                if messages.count == limit {
                    after = event.seq
                    break scanning
                }
            }
            after = max(after, batch.reached)
            scanned += batch.events.count
            if after < batch.head {
                if scanned >= Self.scanLimit { break }
                continue
            }
            // At the head: wait for more while nothing matched and the client asked to wait.
            guard messages.isEmpty, ContinuousClock.now < deadline, !(await feed.hub.isStopped) else { break }
            await feed.hub.waitForChange(after: batch.head, timeout: deadline - ContinuousClock.now)
            // The server is stopping: answer now with what there is (the store closes next).
            if await feed.hub.isStopped { break }
        }
        try Self.requireStillValid(request.identity, verifier)
        var body = Array(#"{"changes":["#.utf8)
        for (index, message) in messages.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += message
        }
        body += Array(#"],"last_seq":\#(after)}"#.utf8)
        return .json(.ok, body, headers: ["X-Change-Seq": String(head)])
    }

    /// Events of its collection one `/_changes/{collection}` request reads at most.
    static let scanLimit = 2_000

    /// `GET /_feed` with `Accept: text/event-stream`: the feed as Server-Sent Events.
    func events(_ request: Request) async throws -> Response {
        let pairs = try QueryParameters.pairs(request.query)
        let feedRequest = try FeedRequest.parse(pairs, lastEventID: request.headers.first(name: "Last-Event-ID"), schema: store.schema)
        try Self.requireFirehose(feedRequest, identity: request.identity, policy: policy, schema: store.schema)
        guard Self.wantsEventStream(request) else {
            throw Problem(.badRequest, "GET /_feed is a WebSocket (Upgrade: websocket) or Server-Sent Events (Accept: text/event-stream); for plain HTTP use GET /_changes")
        }
        return try await eventStream(since: feedRequest.since, collections: feedRequest.collections, band: nil, identity: request.identity)
    }

    static func wantsEventStream(_ request: Request) -> Bool {
        request.headers["Accept"].joined(separator: ",").lowercased().contains("text/event-stream")
    }

    /// Whether a listing's request asks for its live query rather than the page: `Accept` names
    /// `text/event-stream` with a quality above JSON's, or equal to it when JSON is only matched
    /// by a wildcard. A client generated from the OpenAPI document names both types the listing
    /// answers (`application/json, text/event-stream`) and gets the page; an EventSource, or
    /// `text/event-stream, */*`, gets the stream.
    static func prefersEventStream(_ request: Request) -> Bool {
        var stream: Double?
        var json: Double?
        var application: Double?
        var any: Double?
        for range in request.headers["Accept"].flatMap({ $0.split(separator: ",") }) {
            let parts = range.split(separator: ";").map { $0.trimmingSpaces.lowercased() }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            switch parts.first {
            case "text/event-stream": stream = quality
            case "application/json": json = quality
            case "application/*": application = quality
            case "*/*": any = quality
            default: break
            }
        }
        guard let stream, stream > 0 else { return false }
        if let json { return stream > json }
        return stream >= (application ?? any ?? 0)
    }

    /// The feed (all of it, some collections, or one band) as Server-Sent Events from `since`.
    func eventStream(since: Int64?, collections: Set<String>?, band: Band?, identity: Identity) async throws -> Response {
        let current = try await store.changes(after: 0, collections: nil, limit: 0, maxBytes: 0)  // head and oldest only
        if let since {
            guard since <= current.head else {
                throw Problem.badParameter("since", "\(since) is ahead of the log (its head is \(current.head))")
            }
            if current.isPruned(after: since) {
                throw Problem(.gone, "events after \(since) were pruned (the oldest kept is \(current.oldest)); re-read the collections, then subscribe again")
            }
        }
        if let band, !(await feed.hub.admits(band)) {
            var problem = Problem(.serviceUnavailable, "the server follows as many distinct bands as it may (--feed-max-bands); try again later")
            problem.headers.add(name: "Retry-After", value: "5")
            throw problem
        }
        var response = Response(status: .ok, headers: [
            "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", "X-Accel-Buffering": "no",
        ])
        let hub = feed.hub
        let heartbeat = feed.heartbeat
        let credentialWatch = self.credentialWatch
        response.stream = { stream in
            let sink = ServerSentEvents(stream: stream, since: since)
            let pings = stream.eventLoop.scheduleRepeatedTask(initialDelay: heartbeat, delay: heartbeat) { _ in
                _ = stream.write(Array(": ping\n\n".utf8))
            }
            // The stream lives as long as its credentials (an expired token, a revoked key).
            let watch = credentialWatch.watch(identity, verifier: verifier, on: stream.eventLoop) { sink.endUnauthorized() }
            stream.onClose {
                pings.cancel()
                credentialWatch.unwatch(watch)
                Task { await hub.unsubscribe(sink) }
            }
            _ = stream.write(Array(": feedbase change feed\nretry: 1000\n\n".utf8))
            Task {
                // Past the band limit since the check above: the stream ends (the client retries).
                if case .tooManyBands = await hub.subscribe(sink, since: since, collections: collections, band: band) {
                    stream.finish(reason: "too many bands")
                }
            }
        }
        return response
    }
}

/// A subscription written as Server-Sent Events: `id: seq`, `event: change`, `data: json`.
final class ServerSentEvents: FeedSink {
    let stream: ResponseStream
    /// The seq of the last event or progress written: where an `unauthorized` end resumes.
    private let lastSeq: Atomic<Int64>

    init(stream: ResponseStream, since: Int64?) {
        self.stream = stream
        self.lastSeq = Atomic(since ?? 0)
    }

    /// The credentials expired or were revoked: an `unauthorized` event with the seq to
    /// resume from (after authenticating again), then the end of the stream.
    func endUnauthorized() {
        let seq = lastSeq.load(ordering: .relaxed)
        _ = stream.write(Array("event: unauthorized\ndata: {\"type\":\"unauthorized\",\"seq\":\(seq)}\n\n".utf8))
        stream.finish(reason: "credentials expired or revoked")
    }

    /// A client that left before its subscription landed is not taken on.
    var isDisconnected: Bool { stream.isFinished }

    func send(_ batch: EventBatch) -> Bool {
        if let last = batch.events.last?.seq { lastSeq.store(last, ordering: .relaxed) }
        guard stream.write(Self.encoded(batch)) else { return false }
        stream.delivered(batch.events.count)
        return true
    }

    /// A page of the backlog, paced by the stream (`hasRoomForBacklog`).
    func sendBacklog(_ batch: EventBatch) -> Bool {
        if let last = batch.events.last?.seq { lastSeq.store(last, ordering: .relaxed) }
        guard stream.writeBacklog(Self.encoded(batch)) else { return false }
        stream.delivered(batch.events.count)
        return true
    }

    var hasRoomForBacklog: Bool { stream.hasRoomForBacklog }
    func waitForRoom() async { await stream.waitForRoom() }

    private static func encoded(_ batch: EventBatch) -> ByteBuffer {
        // Encoded once per batch into one buffer, shared (not copied) by every SSE subscriber
        // that takes all of it.
        batch.encoded("event-stream") { events in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(events.reduce(0) { $0 + $1.json.count + 40 })
            for event in events {
                buffer.writeString("id: \(event.seq)\nevent: change\ndata: ")
                buffer.writeBytes(event.json)
                buffer.writeBytes([10, 10])
            }
            return buffer
        }
    }

    func ready(seq: Int64) {
        lastSeq.store(seq, ordering: .relaxed)
        _ = stream.write(Array("event: ready\ndata: {\"type\":\"ready\",\"seq\":\(seq)}\n\n".utf8))
    }

    /// With `id:`, so that a reconnecting EventSource resumes from here.
    func progress(seq: Int64) {
        lastSeq.store(seq, ordering: .relaxed)
        _ = stream.write(Array("id: \(seq)\nevent: progress\ndata: {\"type\":\"progress\",\"seq\":\(seq)}\n\n".utf8))
    }

    func close(_ reason: FeedCloseReason) {
        let ended: String
        switch reason {
        case .reset(let oldest):
            ended = "reset: events pruned"
            _ = stream.write(Array("event: reset\ndata: {\"type\":\"reset\",\"oldest\":\(oldest)}\n\n".utf8))
        case .slow(let lastSent):
            ended = "slow consumer cut off"
            // The buffer is full: this may not arrive; the client resumes from its Last-Event-ID.
            _ = stream.write(Array("event: overflow\ndata: {\"type\":\"overflow\",\"seq\":\(lastSent)}\n\n".utf8))
        case .failure(let lastSent):
            ended = "log read failed"
            // The client resumes from its Last-Event-ID; `seq` says the same for one that keeps none.
            _ = stream.write(Array("event: failure\ndata: {\"type\":\"failure\",\"seq\":\(lastSent)}\n\n".utf8))
        case .shutdown:
            ended = "server stopping"
        }
        stream.finish(reason: ended)
    }
}
