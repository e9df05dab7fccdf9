// The feed over WebSocket (`GET /_feed` with `Upgrade: websocket`), upgraded from the same HTTP
// server and port. Text frames: the backlog after `since`, `{"type":"ready","seq":N}`, then live
// events. Pings every heartbeat; client pings are answered; a close is honoured.
//
// Back-pressure: while the socket takes data, frames go straight to it. When it stops taking
// them (the channel is not writable), frames wait in this connection's own queue, bounded by
// the feed buffer; past that the subscriber is closed with 4408 and the seq of the last event
// handed to the socket, so that it resumes with `since` and loses nothing. The close frame then
// follows at most one socket buffer of data, so a client that reads again finds it.

import FeedbaseFeed
import FeedbaseStore
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

enum WebSocketFeed {
    /// The upgrader for `/_feed`: checks the request like the SSE route; a request it refuses is
    /// answered by the HTTP route instead (404 for an unknown collection, 400 for bad parameters).
    static func upgrader(api: API, streamLimit: Int) -> NIOWebSocketServerUpgrader? {
        guard let feed = api.feed else { return nil }
        let schema = api.store.schema
        return NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 16,
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(feedRequest(head, schema: schema) == nil ? nil : HTTPHeaders())
            },
            upgradePipelineHandler: { channel, head in
                guard let request = feedRequest(head, schema: schema) else { return channel.close() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        WebSocketFeedHandler(store: api.store, hub: feed.hub, request: request, heartbeat: feed.heartbeat, limit: streamLimit))
                }
            })
    }

    static func feedRequest(_ head: HTTPRequestHead, schema: Schema) -> FeedRequest? {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.first == "/_feed", head.method == .GET else { return nil }
        guard let pairs = try? QueryParameters.pairs(parts.count > 1 ? parts[1] : nil) else { return nil }
        return try? FeedRequest.parse(pairs, lastEventID: nil, schema: schema)
    }
}

final class WebSocketFeedHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let store: any ResourceStore
    private let hub: ChangeHub
    private let request: FeedRequest
    private let heartbeat: TimeAmount
    private let limit: Int
    private var sink: WebSocketSink?
    private var pings: RepeatedTask?

    init(store: any ResourceStore, hub: ChangeHub, request: FeedRequest, heartbeat: TimeAmount, limit: Int) {
        self.store = store
        self.hub = hub
        self.request = request
        self.heartbeat = heartbeat
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let sink = WebSocketSink(channel: context.channel, limit: limit)
        self.sink = sink
        pings = context.eventLoop.scheduleRepeatedTask(initialDelay: heartbeat, delay: heartbeat) { _ in sink.ping() }
        let store = self.store
        let hub = self.hub
        let request = self.request
        context.channel.closeFuture.whenComplete { [pings] _ in
            pings?.cancel()
            Task { await hub.unsubscribe(sink) }
        }
        Task {
            if let since = request.since {
                // A since ahead of the log cannot be served; one older than it was pruned gets
                // the hub's reset (4410). The head is the store's: the hub's may lag a commit
                // that a client has already seen acknowledged.
                guard let head = try? await store.changes(after: 0, collections: nil, limit: 0).head else {
                    sink.close(code: 1011, reason: "the change log cannot be read")
                    return
                }
                if since > head {
                    sink.close(code: 4400, reason: "since \(since) is ahead of the log (head \(head))")
                    return
                }
            }
            await hub.subscribe(sink, since: request.since, collections: request.collections)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode() ?? .normalClosure
            sink?.close(code: code, reason: "")
        default:
            break  // the feed is one-way; other frames are ignored
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
    private struct State {
        var queue: [(frame: WebSocketFrame, bytes: Int, seq: Int64?)] = []
        var queuedBytes = 0
        var closed = false
    }

    private let channel: any Channel
    private let limit: Int
    private let state = Mutex(State())

    init(channel: any Channel, limit: Int) {
        self.channel = channel
        self.limit = limit
    }

    func send(_ events: [ChangeEvent]) -> Bool {
        let frames = events.map { event in
            (frame: WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: event.json)), bytes: event.json.count, seq: Optional(event.seq))
        }
        return enqueue(frames)
    }

    func ready(seq: Int64) {
        let text = #"{"type":"ready","seq":\#(seq)}"#
        _ = enqueue([(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)), text.utf8.count, nil)])
    }

    func ping() {
        guard !state.withLock({ $0.closed }) else { return }
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())).whenFailure { _ in }
    }

    func close(_ reason: FeedCloseReason) {
        switch reason {
        case .slow(let lastSent):
            // Queued events are dropped with the connection: resume just before the first of them.
            let firstQueued = state.withLock { $0.queue.lazy.compactMap(\.seq).first }
            let resume = firstQueued.map { $0 - 1 } ?? lastSent
            close(code: 4408, reason: "too slow; resume with since=\(resume)")
        case .reset(let oldest):
            let text = #"{"type":"reset","oldest":\#(oldest)}"#
            _ = enqueue([(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)), text.utf8.count, nil)])
            close(code: WebSocketErrorCode(codeNumber: 4410), reason: "events after since were pruned; re-read, then subscribe from X-Change-Seq", keepQueued: true)
        case .shutdown:
            close(code: .goingAway, reason: "server stopping")
        }
    }

    func close(code: Int, reason: String) {
        close(code: WebSocketErrorCode(codeNumber: code), reason: reason)
    }

    /// Sends a close frame after the frames already handed to the socket (and, with
    /// `keepQueued`, after those still queued: a reset message), then closes.
    func close(code: WebSocketErrorCode, reason: String, keepQueued: Bool = false) {
        let first = state.withLock { state -> Bool in
            defer {
                state.closed = true
                if !keepQueued {
                    state.queue = []
                    state.queuedBytes = 0
                }
            }
            return !state.closed
        }
        guard first else { return }
        var data = ByteBuffer()
        data.write(webSocketErrorCode: code)
        data.writeString(String(reason.utf8.prefix(120)) ?? "")
        let channel = self.channel
        let frameData = data
        channel.eventLoop.execute {
            self.drain()
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: frameData)).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
        // A client that never reads would keep the close frame queued forever: bound the wait.
        channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
    }

    /// Queues frames behind any already waiting and writes what the socket takes now; false
    /// when the queue would pass the limit.
    private func enqueue(_ frames: [(frame: WebSocketFrame, bytes: Int, seq: Int64?)]) -> Bool {
        let accepted = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            let bytes = frames.reduce(0) { $0 + $1.bytes }
            // A batch is always taken when nothing waits (it may be larger than the limit); the
            // limit bounds what piles up behind a socket that stopped taking data.
            guard state.queuedBytes == 0 || state.queuedBytes + bytes <= limit else { return false }
            state.queue += frames
            state.queuedBytes += bytes
            return true
        }
        if accepted { channel.eventLoop.execute { self.drain() } }
        return accepted
    }

    /// On the event loop: hands queued frames to the socket while it is writable.
    func drain() {
        var wrote = false
        while channel.isWritable {
            let next = state.withLock { state -> (frame: WebSocketFrame, bytes: Int, seq: Int64?)? in
                guard !state.queue.isEmpty else { return nil }
                let item = state.queue.removeFirst()
                state.queuedBytes -= item.bytes
                return item
            }
            guard let next else { break }
            channel.write(next.frame, promise: nil)
            wrote = true
        }
        if wrote { channel.flush() }
    }
}
