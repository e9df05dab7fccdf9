// The feed over WebSocket (`GET /_feed` with `Upgrade: websocket`), upgraded from the same HTTP
// server and port. Text frames: the backlog after `since`, `{"type":"ready","seq":N}`, then live
// events. Pings every heartbeat; client pings are answered; a close is honoured.
//
// A batch of events is encoded once into one buffer of text frames and written below NIO's frame
// encoder: one write and one flush per subscriber per batch.
//
// Back-pressure: while the socket takes data, batches go straight to it. When it stops taking
// them (the channel is not writable), batches wait in this connection's own queue, bounded by
// the feed buffer (the `ready` and `reset` messages are taken past it); past that the subscriber
// is closed with 4408 and the seq of the last event handed to the socket, so that it resumes
// with `since` and loses nothing. The close frame is queued too, behind what is kept (nothing
// for 4408, the backlog and the reset message for 4410), so nothing ever follows it on the wire;
// a client that reads again finds it. A channel that closes makes the sink refuse events, so
// the hub drops it even when its subscription lands after the unsubscribe.

import FeedbaseAuth
import FeedbaseFeed
import FeedbaseStore
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

enum WebSocketFeed {
    /// The upgrader for `/_feed`: checks the request like the SSE route; a request it refuses is
    /// answered by the HTTP route instead (404 for an unknown collection, 400 for bad parameters,
    /// 401 or 403 for credentials refused or not enough for the firehose). The credentials are
    /// verified in both steps: the second finds them cached.
    /// `maxMessageBytes`: the largest message a client may send (a frame, or fragments together).
    static func upgrader(api: API, streamLimit: Int, maxMessageBytes: Int) -> NIOWebSocketServerUpgrader? {
        guard let feed = api.feed else { return nil }
        let schema = api.store.schema
        let policy = api.policy
        // `counting`: the upgrade draws on the identity's rate limit once, when it is decided.
        @Sendable func admitted(
            _ head: HTTPRequestHead, on eventLoop: any EventLoop, counting: Bool, address: String?
        ) -> EventLoopFuture<(FeedRequest, Identity)?> {
            guard let request = feedRequest(head, schema: schema) else { return eventLoop.makeSucceededFuture(nil) }
            return api.identity(head, on: eventLoop).map { result in
                guard case .success(let identity) = result else { return nil }
                if counting, let limiter = api.rateLimiter, limiter.admit(RateLimiter.key(identity, address: address)) != nil { return nil }
                if !request.bandsOnly {
                    guard (try? FeedRoutes.requireFirehose(request, identity: identity, policy: policy, schema: schema)) != nil else { return nil }
                }
                return (request, identity)
            }
        }
        return NIOWebSocketServerUpgrader(
            maxFrameSize: maxMessageBytes,
            shouldUpgrade: { channel, head in
                admitted(head, on: channel.eventLoop, counting: true, address: channel.remoteAddress?.ipAddress).map { admitted in
                    guard admitted != nil else { return nil }
                    // The 101 is a response like any other: it carries the same security headers.
                    var headers = HTTPHeaders()
                    RequestHandler.addSecurityHeaders(&headers)
                    return headers
                }
            },
            upgradePipelineHandler: { channel, head in
                admitted(head, on: channel.eventLoop, counting: false, address: nil).flatMap { admitted in
                    guard let (request, identity) = admitted else { return channel.close() }
                    return upgraded(
                        channel, api: api, feed: feed, request: request, identity: identity, streamLimit: streamLimit, maxMessageBytes: maxMessageBytes)
                }
            })
    }

    private static func upgraded(
        _ channel: any Channel, api: API, feed: FeedService, request: FeedRequest, identity: Identity, streamLimit: Int, maxMessageBytes: Int
    ) -> EventLoopFuture<Void> {
                channel.eventLoop.makeCompletedFuture {
                    let writer = FrameBytesWriter(eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(writer, position: .first)
                    try channel.pipeline.syncOperations.addHandler(
                        NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: maxMessageBytes))
                    try channel.pipeline.syncOperations.addHandler(
                        WebSocketFeedHandler(api: api, feed: feed, writer: writer, request: request, identity: identity, limit: streamLimit))
                }
    }

    static func feedRequest(_ head: HTTPRequestHead, schema: Schema) -> FeedRequest? {
        guard Request.path(of: head.uri) == "/_feed", head.method == .GET else { return nil }
        guard let pairs = try? QueryParameters.pairs(Request.query(of: head.uri)) else { return nil }
        return try? FeedRequest.parse(pairs, lastEventID: nil, schema: schema, webSocket: true)
    }
}

final class WebSocketFeedHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let api: API
    private let feed: FeedService
    private let writer: FrameBytesWriter
    private let request: FeedRequest
    private let identity: Identity
    private let limit: Int
    private var sink: WebSocketSink?
    private var bands: WebSocketBands?
    private var pings: RepeatedTask?
    private var watch: Int?

    init(api: API, feed: FeedService, writer: FrameBytesWriter, request: FeedRequest, identity: Identity, limit: Int) {
        self.api = api
        self.feed = feed
        self.writer = writer
        self.request = request
        self.identity = identity
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let sink = WebSocketSink(channel: context.channel, writer: writer, limit: limit, closeTimeout: feed.closeTimeout)
        self.sink = sink
        let bands = WebSocketBands(
            api: api, hub: feed.hub, socket: sink, identity: identity, limit: feed.bandsPerConnection, maxFilters: feed.bandFilters)
        self.bands = bands
        bands.start()
        pings = context.eventLoop.scheduleRepeatedTask(initialDelay: feed.heartbeat, delay: feed.heartbeat) { _ in sink.ping() }
        // A subscription lives as long as its credentials: an expired token or a revoked key
        // ends it (4401) once what was queued is written, with the seq to resume from.
        watch = api.credentialWatch.watch(identity, verifier: api.verifier, on: context.eventLoop) { sink.closeUnauthorized() }
        let store = api.store
        let hub = feed.hub
        let request = self.request
        let channel = context.channel
        let credentialWatch = api.credentialWatch
        channel.closeFuture.whenComplete { [pings, watch] _ in
            pings?.cancel()
            credentialWatch.unwatch(watch)
            // From now on the sink refuses events, so the hub drops it even if the subscribe
            // below lands after this unsubscribe.
            sink.disconnected()
            Task {
                await hub.unsubscribe(sink)
                await bands.closed()
            }
        }
        // A socket for bands only carries the bands it subscribes to.
        guard !request.bandsOnly else { return }
        Task {
            if let since = request.since {
                // A since ahead of the log cannot be served; one older than it was pruned gets
                // the hub's reset (4410). The head is the store's: the hub's may lag a commit
                // that a client has already seen acknowledged.
                guard let head = try? await store.changes(after: 0, collections: nil, limit: 0, maxBytes: 0).head else {
                    sink.close(code: 1011, reason: "the change log cannot be read")
                    return
                }
                if since > head {
                    sink.close(code: 4400, reason: "since \(since) is ahead of the log (head \(head))")
                    return
                }
            }
            await hub.subscribe(sink, since: request.since, collections: request.collections)
            if !channel.isActive { await hub.unsubscribe(sink) }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            // Echo the client's code when it is one that may be sent (RFC 6455 §7.4), else 1000.
            let code = data.readWebSocketErrorCode().flatMap { code -> WebSocketErrorCode? in
                guard case .unknown(let number) = code else { return code }
                return (3000...4999).contains(number) ? code : nil
            } ?? .normalClosure
            sink?.close(code: code, reason: "")
        case .text:
            bands?.receive(frame.unmaskedData)
        default:
            break  // binary frames and pongs are ignored
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { sink?.drain() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

final class WebSocketSink: FeedSink {
    /// Text frames, encoded: one buffer per batch of events.
    private struct Batch {
        var frames: ByteBuffer
        var firstSeq: Int64?
        /// The close frame: the connection closes once it is written.
        var closes = false
    }

    private struct State {
        var queue = CircularBuffer<Batch>()
        var queuedBytes = 0
        var closed = false
        /// The channel itself is gone (not only closing).
        var disconnected = false
        /// A drain is scheduled on the event loop and has not started: one more batch needs no
        /// task of its own (one task per burst, not per batch).
        var drainScheduled = false
        /// The last firehose event handed to the queue (what a 4401 resumes after), or the
        /// subscription's start.
        var lastQueuedSeq: Int64?
    }

    private let channel: any Channel
    private let writer: FrameBytesWriter
    private let limit: Int
    private let closeTimeout: TimeAmount
    private let state = Mutex(State())

    init(channel: any Channel, writer: FrameBytesWriter, limit: Int, closeTimeout: TimeAmount) {
        self.channel = channel
        self.writer = writer
        self.limit = limit
        self.closeTimeout = closeTimeout
    }

    func send(_ batch: EventBatch) -> Bool {
        send(batch, tracksResume: true)
    }

    /// `tracksResume` false for a band's batch: the seq a 4408 or 1011 close names is the
    /// firehose's resume point, which a band's messages must not move.
    func send(_ batch: EventBatch, tracksResume: Bool) -> Bool {
        // Encoded once per batch, shared by every WebSocket subscriber that takes all of it.
        let frames = batch.encoded("websocket") { events in
            var frames = ByteBuffer()
            frames.reserveCapacity(events.reduce(0) { $0 + $1.json.count + 10 })
            for event in events { frames.writeWebSocketTextFrame(event.json) }
            return frames
        }
        if tracksResume, let last = batch.events.last?.seq { state.withLock { $0.lastQueuedSeq = last } }
        return enqueue(Batch(frames: frames, firstSeq: tracksResume ? batch.events.first?.seq : nil))
    }

    func ready(seq: Int64) {
        // A few bytes, once: taken past the limit, or a large last page would swallow it.
        _ = control(#"{"type":"ready","seq":\#(seq)}"#, overLimit: true)
    }

    func progress(seq: Int64) {
        _ = control(#"{"type":"progress","seq":\#(seq)}"#)
    }

    /// An answer to a client's message. A client that sends messages without reading the
    /// answers (the queue is full) is cut off like a slow one.
    func answer(_ json: String) {
        if !control(json) { close(code: 4408, reason: "too slow to read the answers to its messages") }
    }

    /// A message of the protocol (not an event) as one text frame; `overLimit` for the few
    /// that must not be lost to a full queue (answers to the client's messages, ready, reset).
    func control(_ json: String, overLimit: Bool = false) -> Bool {
        var frames = ByteBuffer()
        frames.writeWebSocketTextFrame(Array(json.utf8))
        return enqueue(Batch(frames: frames, firstSeq: nil), overLimit: overLimit)
    }

    var isDisconnected: Bool { state.withLock { $0.disconnected } }

    /// The channel closed: refuse everything from now on (the hub then drops this sink).
    func disconnected() {
        state.withLock { state in
            state.closed = true
            state.disconnected = true
            state.queue = []
            state.queuedBytes = 0
        }
    }

    func ping() {
        guard !state.withLock({ $0.closed }) else { return }
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())).whenFailure { _ in }
    }

    func close(_ reason: FeedCloseReason) {
        switch reason {
        case .slow(let lastSent):
            // Queued events are dropped with the connection: resume just before the first of them
            // (read in the same step that drops them, so that no drain hands one to the socket between).
            close(code: WebSocketErrorCode(codeNumber: 4408)) { firstQueued in
                "too slow; resume with since=\(firstQueued.map { $0 - 1 } ?? lastSent)"
            }
        case .reset(let oldest):
            _ = control(#"{"type":"reset","oldest":\#(oldest)}"#, overLimit: true)
            close(code: WebSocketErrorCode(codeNumber: 4410), reason: "events after since were pruned; re-read, then subscribe from X-Change-Seq", keepQueued: true)
        case .failure(let lastSent):
            close(code: .unexpectedServerError) { firstQueued in
                "internal error; resume with since=\(firstQueued.map { $0 - 1 } ?? lastSent)"
            }
        case .shutdown:
            close(code: .goingAway, reason: "server stopping")
        }
    }

    func close(code: Int, reason: String) {
        close(code: WebSocketErrorCode(codeNumber: code), reason: reason)
    }

    /// The credentials expired or were revoked: what is queued goes out (it was sent while
    /// they held), then 4401 with the seq the firehose resumes from.
    func closeUnauthorized() {
        let resume = state.withLock { $0.lastQueuedSeq }
        close(
            code: WebSocketErrorCode(codeNumber: 4401),
            reason: "credentials expired or revoked; authenticate again and resume "
                + (resume.map { "with since=\($0)" } ?? "each band from the last seq it received"),
            keepQueued: true)
    }

    /// Sends a close frame after the frames already handed to the socket (and, with
    /// `keepQueued`, after those still queued: a reset message), then closes.
    func close(code: WebSocketErrorCode, reason: String, keepQueued: Bool = false) {
        close(code: code, keepQueued: keepQueued) { _ in reason }
    }

    /// `reason` is given the seq of the first queued event, read as the queue is dropped. The
    /// close frame is queued behind what is kept, so nothing follows it on the wire.
    private func close(code: WebSocketErrorCode, keepQueued: Bool = false, reason makeReason: (Int64?) -> String) {
        let channel = self.channel
        let closing = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.closed = true
            let firstQueued = state.queue.lazy.compactMap(\.firstSeq).first
            if !keepQueued {
                state.queue = []
                state.queuedBytes = 0
            }
            var frame = ByteBuffer()
            frame.writeWebSocketCloseFrame(code: code, reason: makeReason(firstQueued))
            state.queue.append(Batch(frames: frame, firstSeq: nil, closes: true))
            state.queuedBytes += frame.readableBytes
            return true
        }
        guard closing else { return }
        channel.eventLoop.execute { self.drain() }
        // A client that never reads would keep the close frame queued forever: bound the wait.
        channel.eventLoop.scheduleTask(in: closeTimeout) { channel.close(promise: nil) }
    }

    /// Queues a batch behind any already waiting and writes what the socket takes now; false
    /// when the queue would pass the limit (`overLimit`: taken anyway, for control messages).
    private func enqueue(_ batch: Batch, overLimit: Bool = false) -> Bool {
        let accepted = state.withLock { state -> (taken: Bool, schedule: Bool) in
            guard !state.closed else { return (false, false) }
            let bytes = batch.frames.readableBytes
            // A batch is always taken when nothing waits (it may be larger than the limit); the
            // limit bounds what piles up behind a socket that stopped taking data.
            guard overLimit || state.queuedBytes == 0 || state.queuedBytes + bytes <= limit else { return (false, false) }
            state.queue.append(batch)
            state.queuedBytes += bytes
            defer { state.drainScheduled = true }
            return (true, !state.drainScheduled)
        }
        if accepted.schedule { channel.eventLoop.execute { self.drain() } }
        return accepted.taken
    }

    /// On the event loop: hands queued batches to the socket while it is writable. Once the sink
    /// is closing, the rest (bounded by the limit, plus the close frame) goes at once, in order,
    /// and the connection closes when the close frame is written.
    func drain() {
        channel.eventLoop.preconditionInEventLoop()
        state.withLock { $0.drainScheduled = false }
        var wrote = false
        while true {
            let writable = channel.isWritable
            let next = state.withLock { state -> Batch? in
                guard writable || state.closed, let batch = state.queue.popFirst() else { return nil }
                state.queuedBytes -= batch.frames.readableBytes
                return batch
            }
            guard let next else { break }
            if next.closes {
                let channel = self.channel
                let written = channel.eventLoop.makePromise(of: Void.self)
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
                writer.write(next.frames, promise: written)
                writer.flush()
                return
            }
            writer.write(next.frames, promise: nil)
            wrote = true
        }
        if wrote { writer.flush() }
    }
}
