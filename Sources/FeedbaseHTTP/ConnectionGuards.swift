// What keeps one client from holding the server's connections: a deadline for each request to
// arrive whole (the slowloris defence), and the answer to a connection past the limit. Both
// write raw bytes at the socket end of the pipeline, before NIO's HTTP decoder: a client that
// never finishes its head has given the decoder nothing to answer.

import NIOCore

/// The bytes of a complete HTTP/1.1 response with a problem body, sent before the connection
/// closes; written raw because the HTTP encoder may be mid-way through nothing at all.
enum RawProblem {
    static func bytes(status: Int, reason: String, detail: String, retryAfter: Int? = nil) -> [UInt8] {
        let body = #"{"type":"about:blank","title":"\#(reason)","status":\#(status),"detail":"\#(detail)"}"#
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/problem+json\r\nContent-Length: \(body.utf8.count)\r\n"
        if let retryAfter { head += "Retry-After: \(retryAfter)\r\n" }
        head += "Connection: close\r\n\r\n"
        return Array((head + body).utf8)
    }
}

/// A connection past `RequestLimits.connections`: answered `503` at once and closed, so the client
/// learns in one round trip rather than waiting in a queue.
final class RefusedConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private static let response = RawProblem.bytes(
        status: 503, reason: "Service Unavailable", detail: "the server holds as many connections as it may; retry shortly", retryAfter: 1)

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(NIOAny(channel.allocator.buffer(bytes: Self.response))).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}  // nothing read is answered
}

/// Starts a clock at the first byte of each request; if the request has not arrived whole (head
/// and body) when it runs out, answers `408` and closes. The request handler stops the clock when
/// a request is complete and says when a response (a stream, too) is under way, during which the
/// clock does not run: a slow server is not the client's fault.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent by the request handler (through the pipeline, as a user event) when a request has
    /// arrived whole, and when its response is finished.
    enum Event { case requestArrived, responseFinished }

    private static let response = RawProblem.bytes(
        status: 408, reason: "Request Timeout", detail: "the request did not arrive whole in time; the connection closes")

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var responding = false
    /// Bytes of a next (pipelined) request came while a response was under way: the clock
    /// starts when that response is finished.
    private var pending = false

    init(timeout: TimeAmount) { self.timeout = timeout }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if responding { pending = true } else if deadline == nil { arm(context) }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? Event else { return context.triggerUserOutboundEvent(event, promise: promise) }
        switch event {
        case .requestArrived:
            responding = true
            deadline?.cancel()
            deadline = nil
        case .responseFinished:
            responding = false
            if pending && deadline == nil { arm(context) }
            pending = false
        }
        promise?.succeed()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    private func arm(_ context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.deadline = nil
            guard !handler.responding else { return }
            let channel = context.channel
            context.writeAndFlush(NIOAny(channel.allocator.buffer(bytes: Self.response))).whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

/// Watches the bytes ahead of NIO's decoder for one fact it does not report: whether a request
/// line (the first line of a message: at the connection's start or after a blank line) ran past
/// `limit` bytes. When the decoder gives up on a head past its limit, that tells a target too
/// long (`414`) from header fields too large (`431`). The decoder stops at such a line and the
/// connection closes, so the fact stays true once seen (the bytes after it in the same read are
/// never decoded). A body after a blank line counts as part of the next line; with a newline in
/// a body, a pipelined request's overlong target after it is answered `431`.
final class RequestLineWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limit: Int
    private(set) var sawLongRequestLine = false
    private var inRequestLine = true
    /// Bytes other than CR in the current line.
    private var lineBytes = 0

    init(limit: Int) { self.limit = limit }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !sawLongRequestLine {
            unwrapInboundIn(data).withUnsafeReadableBytes { bytes in
                for byte in bytes {
                    if byte == UInt8(ascii: "\n") {
                        // An empty line ends a head (or leads a message): a request line follows.
                        inRequestLine = lineBytes == 0
                        lineBytes = 0
                    } else if byte != UInt8(ascii: "\r") {
                        lineBytes &+= 1
                        if inRequestLine && lineBytes > limit {
                            sawLongRequestLine = true
                            break
                        }
                    }
                }
            }
        }
        context.fireChannelRead(data)
    }
}
