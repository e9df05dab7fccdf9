// The feed over WebSocket (`GET /_feed` with `Upgrade: websocket`), upgraded from the same HTTP
// server and port. Text frames: the backlog after `since`, `{"type":"ready","seq":N}`, then live
// events. Pings every heartbeat; client pings are answered; a close is honoured.
//
// A batch of events is encoded once into one buffer of text frames and written below NIO's frame
// encoder: one write and one flush per subscriber per batch.
//
// Back-pressure and the sink's queue: WebSocketSink.swift.

import FeedbaseAuth
import FeedbaseFeed
import FeedbaseModel
import Logging
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
                let started = ContinuousClock.now
                return admitted(head, on: channel.eventLoop, counting: true, address: channel.remoteAddress?.ipAddress).map { admitted in
                    guard admitted != nil else { return nil }
                    // Counted as `GET /_feed` 101; a refused upgrade is answered (and counted) by the HTTP route.
                    api.upgraded(since: started)
                    // The 101 is a response like any other: it carries the same security headers.
                    var headers = HTTPHeaders()
                    RequestHandler.addSecurityHeaders(&headers)
                    return headers
                }
            },
            upgradePipelineHandler: { channel, head in
                admitted(head, on: channel.eventLoop, counting: false, address: nil).flatMap { admitted in
                    guard let (request, identity) = admitted else { return channel.close() }
                    // Logged like any request: the upgrade's 101 now, the socket's end later.
                    let target = "\(head.method.rawValue) \(RequestHandler.loggable(head.uri))"
                    let metadata = AccessLog.metadata(
                        requestID: RequestHandler.requestID(head.headers), address: channel.remoteAddress?.ipAddress, identity: identity)
                    api.logger.info("\(target) 101 websocket", metadata: metadata)
                    let log = WebSocketFeedHandler.Log(logger: api.logger, target: target, metadata: metadata, started: .now())
                    return upgraded(
                        channel, api: api, feed: feed, request: request, identity: identity, streamLimit: streamLimit, maxMessageBytes: maxMessageBytes,
                        log: log)
                }
            })
    }

    private static func upgraded(
        _ channel: any Channel, api: API, feed: FeedService, request: FeedRequest, identity: Identity, streamLimit: Int, maxMessageBytes: Int,
        log: WebSocketFeedHandler.Log
    ) -> EventLoopFuture<Void> {
                channel.eventLoop.makeCompletedFuture {
                    let writer = FrameBytesWriter(eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.addHandler(writer, position: .first)
                    try channel.pipeline.syncOperations.addHandler(
                        NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: maxMessageBytes))
                    let handler = WebSocketFeedHandler(api: api, feed: feed, writer: writer, request: request, identity: identity, limit: streamLimit)
                    handler.log = log
                    try channel.pipeline.syncOperations.addHandler(handler)
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
    /// The access log's line at the socket's end: what the upgrade logged, and when.
    struct Log: Sendable {
        var logger: Logger
        var target: String
        var metadata: Logger.Metadata
        var started: NIODeadline
    }
    var log: Log?

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
        // A subscription lives as long as its credentials: an expired token or a revoked key
        // ends it (4401) once what was queued is written, with the seq to resume from. An
        // `auth` message replaces them in place (WebSocketBands).
        let credential = SocketCredential(identity, api: api, eventLoop: context.eventLoop) { sink.closeUnauthorized() }
        let bands = WebSocketBands(
            api: api, hub: feed.hub, socket: sink, address: context.channel.remoteAddress?.ipAddress, credential: credential,
            firehose: request.bandsOnly ? nil : request,
            limit: feed.bandsPerConnection, maxFilters: feed.bandFilters)
        self.bands = bands
        bands.start()
        pings = context.eventLoop.scheduleRepeatedTask(initialDelay: feed.heartbeat, delay: feed.heartbeat) { _ in sink.ping() }
        let store = api.store
        let hub = feed.hub
        let request = self.request
        let channel = context.channel
        let log = self.log
        channel.closeFuture.whenComplete { [pings] _ in
            if let log, log.logger.logLevel <= .info {
                let (events, bytes, ended) = sink.summary
                var metadata = log.metadata
                metadata["events"] = "\(events)"
                metadata["bytes"] = "\(bytes)"
                metadata["ended"] = "\(ended)"
                log.logger.info("\(log.target) websocket ended \(AccessLog.milliseconds(since: log.started))ms", metadata: metadata)
            }
            pings?.cancel()
            credential.stop()
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
            sink?.clientClosed(code)
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
