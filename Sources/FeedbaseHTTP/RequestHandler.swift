// One connection's request handler: gathers a request (refusing bodies over the limit without
// buffering them), hands it to the API off the event loop, writes the response, logs one line.

import FeedbaseModel
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

final class RequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer, requestID: String)
        /// A body over the limit: answered with 413; the rest is read and dropped (up to a budget
        /// of bytes and time) before closing, so the client reads the 413 rather than a reset.
        case discarding(budget: Int)
        case processing
    }

    private let api: API
    private let maxBodySize: Int
    private let streamLimit: Int
    private let limits: RequestLimits
    private let logger: Logger
    private let lineWatch: RequestLineWatch
    /// The connection is TLS (the request's `isSecure`).
    private let secure: Bool
    private var state = State.idle

    init(api: API, maxBodySize: Int, streamLimit: Int, limits: RequestLimits, lineWatch: RequestLineWatch, secure: Bool = false, logger: Logger) {
        self.secure = secure
        self.api = api
        self.lineWatch = lineWatch
        self.maxBodySize = maxBodySize
        self.streamLimit = streamLimit
        self.limits = limits
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            let requestID = Self.requestID(head.headers)
            if head.headers.count > limits.headerCount {
                rejectHead(context: context, head: head, requestID: requestID,
                    Problem(.requestHeaderFieldsTooLarge, "the request has \(head.headers.count) header fields; the limit is \(limits.headerCount)"))
            } else if let length = head.headers.first(name: "Content-Length").flatMap(Int.init), length > maxBodySize {
                rejectTooLarge(context: context, head: head, requestID: requestID)
            } else {
                state = .receiving(head, context.channel.allocator.buffer(capacity: 0), requestID: requestID)
            }
        case (.body(var chunk), .receiving(let head, var body, let requestID)):
            if body.readableBytes + chunk.readableBytes > maxBodySize {
                rejectTooLarge(context: context, head: head, requestID: requestID)
            } else {
                state = .idle  // drop the buffer's other reference so the append does not copy it
                body.writeBuffer(&chunk)
                state = .receiving(head, body, requestID: requestID)
            }
        case (.end, .receiving(let head, let body, let requestID)):
            state = .processing
            context.triggerUserOutboundEvent(RequestDeadlineHandler.Event.requestArrived, promise: nil)
            process(context: context, head: head, body: body, requestID: requestID)
        case (.end, .discarding):
            context.close(promise: nil)
        case (.body(let chunk), .discarding(let budget)):
            if budget < chunk.readableBytes {
                context.close(promise: nil)
            } else {
                state = .discarding(budget: budget - chunk.readableBytes)
            }
        default:
            // A part out of order cannot come from NIO's decoder; refuse the connection.
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if case .processing = state { return }  // we are the slow one; the response is coming
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A refused WebSocket upgrade is reported as an error, then the request comes to us as
        // plain HTTP and gets its answer (404, 400): that connection must stay open.
        if error is NIOWebSocketUpgradeError { return }
        if let parserError = error as? HTTPParserError { answerMalformed(parserError, context: context) }
        context.close(promise: nil)
    }

    /// A request NIO's decoder refuses (a control character in a header, a broken chunk, a head
    /// past `RequestLimits.headBytes`) is answered like any other bad request, problem+json with
    /// a request id (NIO's own handler sends a bare 400), unless a response has begun; the
    /// decoder cannot go on, so the connection then closes.
    private func answerMalformed(_ error: HTTPParserError, context: ChannelHandlerContext) {
        let head: HTTPRequestHead
        let requestHeaders: HTTPHeaders?
        switch state {
        case .idle: (head, requestHeaders) = (HTTPRequestHead(version: .http1_1, method: .GET, uri: ""), nil)
        case .receiving(let received, _, _): (head, requestHeaders) = (received, received.headers)
        case .discarding, .processing: return
        }
        state = .discarding(budget: 0)
        let requestID = Self.requestID([:])
        let problem =
            if case .headerOverflow = error, requestHeaders == nil, lineWatch.sawLongRequestLine {
                // The request line itself ran past the decoder's limit: the target is too long.
                Problem(.uriTooLong,
                    "the request target is longer than \(limits.headBytes) bytes; the limit is \(limits.targetBytes) bytes (path and query string)")
            } else if case .headerOverflow = error {
                Problem(.requestHeaderFieldsTooLarge,
                    "the request line and header fields are larger than \(limits.headBytes) bytes together "
                        + "(the request target alone may have \(limits.targetBytes) bytes)")
            } else {
                Problem(.badRequest, "the request is not valid HTTP/1.1")
            }
        var response = problem.response(instance: String(Request.path(of: head.uri)), requestID: requestID)
        api.crossOrigin.decorate(&response.headers, requestHeaders: requestHeaders)
        // errorCaught closes the connection after this.
        write(response, for: head, requestID: requestID, started: .now(), keepAlive: false, closing: false, context: context)
    }

    /// A head past a limit the decoder does not know: answered, then the connection closes
    /// (what follows it cannot be trusted to be the next request).
    private func rejectHead(context: ChannelHandlerContext, head: HTTPRequestHead, requestID: String, _ problem: Problem) {
        state = .discarding(budget: 0)
        var response = problem.response(instance: String(Request.path(of: head.uri)), requestID: requestID)
        api.crossOrigin.decorate(&response.headers, requestHeaders: head.headers)
        write(response, for: head, requestID: requestID, started: .now(), keepAlive: false, context: context)
    }

    private func rejectTooLarge(context: ChannelHandlerContext, head: HTTPRequestHead, requestID: String) {
        state = .discarding(budget: maxBodySize > Int.max / 4 ? Int.max : 4 * maxBodySize)  // any --max-body, no overflow
        let problem = Problem(.payloadTooLarge, "the request body is larger than \(maxBodySize) bytes")
        var response = problem.response(instance: head.uri, requestID: requestID)
        response.headers.replaceOrAdd(name: "Connection", value: "close")
        api.crossOrigin.decorate(&response.headers, requestHeaders: head.headers)
        write(response, for: head, requestID: requestID, started: .now(), keepAlive: false, closing: false, context: context)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    private func process(context: ChannelHandlerContext, head: HTTPRequestHead, body: ByteBuffer, requestID: String) {
        let started = NIODeadline.now()
        var request = Request(
            method: head.method, uri: head.uri, headers: head.headers, body: Array(body.readableBytesView), requestID: requestID)
        request.remoteAddress = context.channel.remoteAddress?.ipAddress
        request.isSecure = secure
        let api = self.api
        let promise = context.eventLoop.makePromise(of: Response.self)
        api.respond(to: request) { promise.succeed($0) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { response in
            let (handler, context) = bound.value
            if let stream = response.stream, head.method != .HEAD {
                handler.startStream(response, stream, for: head, requestID: requestID, context: context)
                return
            }
            handler.state = .idle
            handler.write(response, for: head, requestID: requestID, started: started, keepAlive: head.isKeepAlive, context: context)
            context.triggerUserOutboundEvent(RequestDeadlineHandler.Event.responseFinished, promise: nil)
        }
    }

    private func write(
        _ response: Response, for head: HTTPRequestHead, requestID: String, started: NIODeadline, keepAlive: Bool,
        closing: Bool = true, context: ChannelHandlerContext
    ) {
        var headers = response.headers
        Self.addSecurityHeaders(&headers)
        let hasBody = response.status != .noContent && response.status != .notModified
        if hasBody { headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count)) }
        headers.replaceOrAdd(name: "X-Request-Id", value: requestID)
        if !keepAlive {
            headers.replaceOrAdd(name: "Connection", value: "close")
        } else if head.version.major == 1 && head.version.minor == 0 {
            headers.replaceOrAdd(name: "Connection", value: "keep-alive")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        if hasBody && head.method != .HEAD && !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive && closing {
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
        }
        guard logger.logLevel <= .info else { return }
        var metadata = AccessLog.metadata(requestID: requestID, address: context.channel.remoteAddress?.ipAddress, identity: response.identity)
        metadata["bytes"] = "\(hasBody && head.method != .HEAD ? response.body.count : 0)"
        logger.info(
            "\(head.method.rawValue) \(Self.loggable(head.uri)) \(response.status.code) \(AccessLog.milliseconds(since: started))ms",
            metadata: metadata)
    }

    /// Sends the head, then lets the route write the body over time; the connection takes its
    /// next request once the stream finishes.
    private func startStream(
        _ response: Response, _ stream: @Sendable (ResponseStream) -> Void, for head: HTTPRequestHead, requestID: String,
        context: ChannelHandlerContext
    ) {
        var headers = response.headers
        Self.addSecurityHeaders(&headers)
        headers.replaceOrAdd(name: "X-Request-Id", value: requestID)
        headers.remove(name: "Content-Length")
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        let responseStream = ResponseStream(channel: context.channel, limit: streamLimit)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let keepAlive = head.isKeepAlive
        let started = NIODeadline.now()
        let target = "\(head.method.rawValue) \(Self.loggable(head.uri))"
        let metadata = AccessLog.metadata(requestID: requestID, address: context.channel.remoteAddress?.ipAddress, identity: response.identity)
        let logger = self.logger
        responseStream.finished.whenComplete { _ in
            let (handler, context) = bound.value
            let (bytes, events, ended) = responseStream.summary
            var ending = metadata
            ending["bytes"] = "\(bytes)"
            ending["events"] = "\(events)"
            ending["ended"] = "\(ended)"
            logger.info("\(target) stream ended \(AccessLog.milliseconds(since: started))ms", metadata: ending)
            handler.state = .idle
            context.triggerUserOutboundEvent(RequestDeadlineHandler.Event.responseFinished, promise: nil)
            if !keepAlive { context.close(promise: nil) }
        }
        logger.info("\(target) \(response.status.code) stream", metadata: metadata)
        stream(responseStream)
    }

    /// On every response: the answers are data, never pages to render, frame or sniff (the
    /// explorer's page and scripts, which are, set a narrower policy of their own).
    static func addSecurityHeaders(_ headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        headers.replaceOrAdd(name: "X-Frame-Options", value: "DENY")
        // The explorer's files (ExplorerFiles) carry a policy of their own, allowing its page.
        if !headers.contains(name: "Content-Security-Policy") {
            headers.add(name: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'")
        }
        headers.replaceOrAdd(name: "Referrer-Policy", value: "no-referrer")
    }

    /// The request target as logged: an `access_token` parameter's value is never written.
    static func loggable(_ uri: String) -> String {
        guard let query = Request.query(of: uri), query.contains("access_token") else { return uri }
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            part.hasPrefix("access_token=") ? "access_token=REDACTED" : String(part)
        }
        return String(Request.path(of: uri)) + "?" + parts.joined(separator: "&")
    }

    /// The client's X-Request-Id when it is short visible ASCII; otherwise a new random one.
    static func requestID(_ headers: HTTPHeaders) -> String {
        if let given = headers.first(name: "X-Request-Id"), !given.isEmpty, given.utf8.count <= 200,
            given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        {
            return given
        }
        let value = RequestIDs.next()
        return String(unsafeUninitializedCapacity: 16) { buffer in
            for index in 0..<16 { buffer[index] = RequestIDs.digits[Int(value >> UInt64(60 - index * 4) & 15)] }
            return 16
        }
    }
}

extension Double {
    /// Three decimals without Foundation's formatter.
    var formatted3: String {
        let thousandths = Int((self * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}

/// Generated request ids: 16 hex digits, unique within the process and unpredictable across
/// runs, without a system call per request. Each is SplitMix64's finaliser (a bijection) over a
/// random start plus a counter.
enum RequestIDs {
    private static let start: UInt64 = {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }()
    private static let counter = Atomic<UInt64>(0)
    static let digits = Array("0123456789abcdef".utf8)

    static func next() -> UInt64 {
        var z = start &+ counter.wrappingAdd(1, ordering: .relaxed).oldValue &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
