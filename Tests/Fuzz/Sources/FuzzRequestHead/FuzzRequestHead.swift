// Fuzz target: the bytes a client sends on a connection (request heads, bodies, pipelined
// requests, a WebSocket upgrade and the frames after it), through the server's own pipeline
// (HTTPServer.addHandlers: NIO's decoder, pipelining, the upgrader, RequestHandler) on a testing
// channel, to the router and the routes of an API with its feed on, over a real store. Each
// input is one connection; it is over when every request it completed has its response, the
// connection closed, or a short deadline passed (a stream, a long poll, an upgraded socket).

import FeedbaseFeed
@testable import FeedbaseHTTP
import FeedbaseModel
import FeedbaseSQLite
import FuzzSupport
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization

let store = FuzzStore.shared
let api: API = {
    do {
        let hub = ChangeHub(source: store, logger: FuzzStore.logger)
        try waitFor { try await hub.start() }
        return try API(store: store, feed: FeedService(hub: hub), logger: FuzzStore.logger)
    } catch {
        preconditionFailure("cannot start the API: \(error)")
    }
}()
/// A small body limit, so that short inputs reach the 413 path too.
let configuration = ServerConfiguration(maxBodySize: 1024)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestHead(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    waitFor { await exchange(input) }
    return 0
}

func exchange(_ input: [UInt8]) async {
    let channel = NIOAsyncTestingChannel()
    let exchanges = Exchanges()
    do {
        try await channel.testingEventLoop.executeInContext {
            try HTTPServer.addHandlers(to: channel, api: api, configuration: configuration, logger: FuzzStore.logger)
            let requests = try channel.pipeline.syncOperations.handler(type: RequestHandler.self)
            try channel.pipeline.syncOperations.addHandler(exchanges, position: .before(requests))
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).get()
    } catch {
        preconditionFailure("cannot set up the pipeline: \(error)")
    }
    // The pipeline answers what it refuses; an error that reaches the end of it is not ours.
    _ = try? await channel.writeInbound(channel.allocator.buffer(bytes: input))
    let clock = ContinuousClock()
    let started = clock.now
    while channel.isActive {
        await channel.testingEventLoop.run()
        // Read on the loop: a response's end and the pipelined request it releases come in one turn.
        let (answered, upgraded) = (try? await channel.testingEventLoop.executeInContext { exchanges.state.withLock { ($0.answered, $0.upgraded) } }) ?? (true, false)
        if answered && !upgraded { break }
        if clock.now - started > (upgraded ? .milliseconds(20) : .milliseconds(200)) { break }
        try? await Task.sleep(for: .milliseconds(1))
    }
    _ = try? await channel.finish(acceptAlreadyClosed: true)
    // Timers (the idle timeout, a 413's delayed close) run now, so that none is left pending
    // when the loop is freed.
    await channel.testingEventLoop.advanceTime(by: .hours(2))
}

/// Counts the requests RequestHandler got whole and the responses it finished, and notices an
/// upgrade (after which it leaves: the bytes are WebSocket frames then).
final class Exchanges: ChannelDuplexHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct State {
        var requests = 0
        var responses = 0
        var upgraded = false
        /// Every whole request has its whole response (a 413 answers before the request ends).
        var answered: Bool { responses >= requests }
    }

    let state = Mutex(State())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) { state.withLock { $0.requests += 1 } }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { state.withLock { $0.responses += 1 } }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .upgradeComplete? = event as? HTTPServerUpgradeEvents {
            state.withLock { $0.upgraded = true }
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// The entry point SwiftPM links as `main` (FuzzDriver.c says why it is not libFuzzer's own).
@_cdecl("FuzzRequestHead_main")
public func entryPoint(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzRequestHead)
}
