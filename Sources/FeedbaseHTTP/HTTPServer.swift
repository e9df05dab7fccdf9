// The HTTP/1.1 server on SwiftNIO: one pipeline per connection (decoder, pipelining assistance,
// protocol-error answers, an idle timer, RequestHandler), the API behind it, and a graceful stop.
//
// Why channel handlers rather than NIOAsyncChannel: a request crosses from the event loop to
// the store's threads and back exactly once; the handler keeps that hop explicit and cheap, and
// HTTPServerPipelineHandler already orders pipelined responses and handles quiescing.

import FeedbaseModel
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Synchronization

public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Request bodies above this many bytes are answered with 413.
    public var maxBodySize: Int
    /// A connection that sends nothing for this long (between or during requests) is closed.
    public var idleTimeout: TimeAmount
    /// How long a stop waits for in-flight requests before closing their connections.
    public var shutdownGrace: TimeAmount
    public var eventLoopThreads: Int
    /// Unsent bytes a streaming (SSE) or WebSocket client may have queued before it is cut off.
    public var streamBufferLimit: Int = 1 << 20
    /// What one client may hold or send (connections, head, body shape, WebSocket messages).
    public var limits = RequestLimits()
    /// Adds what a connection's bytes pass through before HTTP: TLS, which FeedbaseApp sets up
    /// with swift-nio-ssl from a certificate and key (`--tls-cert`, `--tls-key`); nil for plain
    /// HTTP. Kept out of this module so that it (and the fuzz targets built on it) need no TLS.
    public var transport: (@Sendable (any Channel) throws -> Void)?
    /// Whether connections are TLS: the documents then name an https:// server.
    public var isSecure: Bool { transport != nil }

    public init(
        host: String = "127.0.0.1", port: Int = 8080, maxBodySize: Int = 1 << 20, idleTimeout: TimeAmount = .seconds(60),
        shutdownGrace: TimeAmount = .seconds(10), eventLoopThreads: Int = System.coreCount
    ) {
        self.host = host
        self.port = port
        self.maxBodySize = maxBodySize
        self.idleTimeout = idleTimeout
        self.shutdownGrace = shutdownGrace
        self.eventLoopThreads = eventLoopThreads
    }
}

public final class HTTPServer: Sendable {
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    /// One listening socket per address of the host (`localhost`: 127.0.0.1 and ::1).
    private let serverChannels: [any Channel]
    private let connections: OpenConnections
    /// Client connections open now (HTTP and upgraded alike).
    public var openConnectionCount: Int { connections.count }
    /// Set by `serve`; until then the sockets accept nothing (connections wait in the backlog).
    private let api: ServedAPI
    private let configuration: ServerConfiguration

    /// Binds and starts serving `api`. The store's lifetime is the caller's.
    public static func start(_ configuration: ServerConfiguration, api: API, logger: Logger) async throws -> HTTPServer {
        let server = try await bind(configuration, logger: logger)
        try await server.serve(api)
        return server
    }

    /// Binds every address of the configured host without accepting anything yet, so that a
    /// port in use is found before anything else happens (`serve` then starts accepting).
    /// Throws `ListenError`, which says what is wrong and what to do.
    public static func bind(_ configuration: ServerConfiguration, logger: Logger) async throws -> HTTPServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.eventLoopThreads))
        let connections = OpenConnections()
        let limits = configuration.limits
        let api = ServedAPI()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                guard let api = api.value.withLock({ $0 }) else { return channel.close() }
                do {
                    try configuration.transport?(channel)
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                guard connections.insert(channel, limit: limits.connections) else {
                    return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RefusedConnectionHandler()) }
                }
                do {
                    try addHandlers(to: channel, api: api, configuration: configuration, logger: logger)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        var channels: [any Channel] = []
        do {
            let addresses = try ListenAddresses.resolve(configuration.host, port: configuration.port)
            var port = configuration.port
            for (index, address) in addresses.enumerated() {
                do {
                    let channel = try await bootstrap.bind(host: address, port: port).get()
                    channels.append(channel)
                    port = channel.localAddress?.port ?? port
                } catch let error as IOError where index > 0 && [EADDRNOTAVAIL, EAFNOSUPPORT].contains(error.errnoCode) {
                    // A further address of the name that this machine lacks (no IPv6): the others serve.
                    logger.notice("not listening on an address of the host", metadata: ["address": "\(address)", "error": "\(error)"])
                } catch {
                    throw ListenError(host: configuration.host, address: address, port: port, error: error)
                }
            }
            guard !channels.isEmpty else { throw ListenError(host: configuration.host, address: configuration.host, port: port, error: nil) }
        } catch {
            for channel in channels { try? await channel.close() }
            try? await group.shutdownGracefully()
            throw error
        }
        return HTTPServer(
            port: channels.first?.localAddress?.port ?? configuration.port, group: group, serverChannels: channels,
            connections: connections, api: api, configuration: configuration)
    }

    /// Starts accepting connections, each served by `api`.
    public func serve(_ api: API) async throws {
        self.api.value.withLock { $0 = api }
        for channel in serverChannels { try await channel.setOption(.autoRead, value: true).get() }
    }

    /// One connection's pipeline, on its event loop. Apart from `start` so that the fuzz target
    /// of request heads (Tests/Fuzz) drives exactly these handlers over a testing channel.
    static func addHandlers(to channel: any Channel, api: API, configuration: ServerConfiguration, logger: Logger) throws {
        let sync = channel.pipeline.syncOperations
        let limits = configuration.limits
        let lineWatch = RequestLineWatch(limit: limits.headBytes)
        try sync.addHandler(lineWatch, name: "feedbase.line")
        try sync.addHandler(RequestDeadlineHandler(timeout: limits.requestTimeout), name: "feedbase.deadline")
        try sync.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout), name: "feedbase.idle")
        var upgrade: NIOHTTPServerUpgradeConfiguration?
        if let upgrader = WebSocketFeed.upgrader(
            api: api, streamLimit: configuration.streamBufferLimit, maxMessageBytes: limits.webSocketMessageBytes)
        {
            // After the upgrade the request handler, its deadline and the idle timer (a feed
            // client may stay silent for hours; pings keep the connection checked) leave.
            upgrade = (upgraders: [upgrader], completionHandler: { context in
                context.pipeline.removeHandler(name: "feedbase.request", promise: nil)
                context.pipeline.removeHandler(name: "feedbase.line", promise: nil)
                context.pipeline.removeHandler(name: "feedbase.deadline", promise: nil)
                context.pipeline.removeHandler(name: "feedbase.idle", promise: nil)
            })
        }
        // Without NIO's protocol error handler: RequestHandler answers a request the decoder
        // refuses with a problem like any other 400.
        try sync.configureHTTPServerPipeline(
            withPipeliningAssistance: true, withServerUpgrade: upgrade, withErrorHandling: false,
            withEncoderConfiguration: HTTPResponseEncoder.Configuration(),
            withDecoderLimitConfiguration: limits.decoder)
        try sync.addHandler(
            RequestHandler(
                api: api, maxBodySize: configuration.maxBodySize, streamLimit: configuration.streamBufferLimit, limits: limits,
                lineWatch: lineWatch, secure: configuration.isSecure, logger: logger),
            name: "feedbase.request")
    }

    private init(
        port: Int, group: MultiThreadedEventLoopGroup, serverChannels: [any Channel],
        connections: OpenConnections, api: ServedAPI, configuration: ServerConfiguration
    ) {
        self.port = port
        self.group = group
        self.serverChannels = serverChannels
        self.connections = connections
        self.api = api
        self.configuration = configuration
    }

    /// Stops accepting, lets in-flight requests finish (bounded by `shutdownGrace`), closes
    /// every connection and stops the event loops.
    public func stop() async {
        for channel in serverChannels { try? await channel.close() }
        let open = connections.all
        for channel in open {
            // Idle connections close at once; busy ones after their current response.
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            let deadline = channel.eventLoop.scheduleTask(in: configuration.shutdownGrace) { channel.close(promise: nil) }
            channel.closeFuture.whenComplete { _ in deadline.cancel() }
        }
        for channel in open { try? await channel.closeFuture.get() }
        try? await group.shutdownGracefully()
    }
}

/// The API the sockets serve, once `HTTPServer.serve` gives it.
final class ServedAPI: Sendable {
    let value = Mutex<API?>(nil)
}

/// The accepted connections still open, so that a stop can quiesce them.
final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// False, and the channel is not kept, when `limit` connections are open already.
    func insert(_ channel: any Channel, limit: Int) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = channels.withLock { channels in
            guard channels.count < limit else { return false }
            channels[id] = channel
            return true
        }
        if admitted { channel.closeFuture.whenComplete { _ in _ = self.channels.withLock { $0.removeValue(forKey: id) } } }
        return admitted
    }

    var all: [any Channel] { channels.withLock { Array($0.values) } }
    var count: Int { channels.withLock { $0.count } }
}
