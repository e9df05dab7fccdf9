// Bands on the WebSocket feed: a client holds many live queries on one socket with
//   {"type":"subscribe","id":"mine","url":"/tasks?project_id=eq.3&select=id,title","since":120}
//   {"type":"unsubscribe","id":"mine"}
// and hears `subscribed` (with the band's name, which its messages carry as "band"), the band's
// backlog, `ready`, then live messages and `progress`; `unsubscribed` when it is over, `reset`
// when its `since` was pruned, and `error` (a problem) when a message is refused. The socket
// stays open through all of these. Client messages are handled one at a time, in order, and
// with `--rate-limit` each draws on the identity's rate as a request does (429 past it).
// `{"type":"auth","token":"..."}` replaces the socket's credential in place: `authenticated`
// once every band was judged again for the new identity (those it reads otherwise got `ended`).
//
// Each subscription is a sink of its own in the hub, writing into the socket's one queue, so a
// band's messages are made and encoded once for all its subscribers, whatever their ids.

import FeedbaseAuth
import FeedbaseFeed
import FeedbaseModel
import NIOCore
import Synchronization

final class WebSocketBands: Sendable {
    private struct State {
        var sinks: [String: BandSink] = [:]
        var closed = false
    }

    private let api: API
    /// Whose read rules narrow every band of this socket; an `auth` message replaces it.
    private let credential: SocketCredential
    /// The firehose the socket carries besides its bands (nil with `mode=bands`): judged again
    /// with every new credential.
    private let firehose: FeedRequest?
    private let hub: ChangeHub
    private let socket: WebSocketSink
    /// The client's address: the anonymous draw on its rate limit.
    private let address: String?
    private let limit: Int
    private let maxFilters: Int
    private let state = Mutex(State())
    private let inbox: AsyncStream<ByteBuffer>.Continuation
    private let messages: AsyncStream<ByteBuffer>

    /// Messages a client may have waiting to be handled; one more gets an error.
    static let inboxLimit = 16

    init(
        api: API, hub: ChangeHub, socket: WebSocketSink, address: String?, credential: SocketCredential, firehose: FeedRequest?, limit: Int,
        maxFilters: Int
    ) {
        self.maxFilters = maxFilters
        self.address = address
        self.api = api
        self.credential = credential
        self.firehose = firehose
        self.hub = hub
        self.socket = socket
        self.limit = limit
        (messages, inbox) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(Self.inboxLimit))
    }

    /// Starts handling messages; call once.
    func start() {
        Task {
            for await message in messages { await handle(Array(message.readableBytesView)) }
        }
    }

    /// A text message from the client (on the event loop).
    func receive(_ message: ByteBuffer) {
        if case .dropped = inbox.yield(message) {
            error(nil, Problem(.tooManyRequests, "more than \(Self.inboxLimit) messages wait to be handled; wait for the answers"))
        }
    }

    /// The socket closed: every band subscription of it ends.
    func closed() async {
        inbox.finish()
        let sinks = state.withLock { state in
            state.closed = true
            defer { state.sinks = [:] }
            return Array(state.sinks.values)
        }
        for sink in sinks { await hub.unsubscribe(sink) }
    }

    private func handle(_ message: [UInt8]) async {
        // Messages still buffered when the socket closed are not worth a store read.
        guard !state.withLock({ $0.closed }) else { return }
        let parsed: BandMessage
        do {
            parsed = try BandMessage.parse(message)
        } catch {
            return self.error(error.id, error.problem)
        }
        // Each message costs what a request does (an `auth` a token verification, a subscribe
        // a listing's plan and a read of the log): it draws on the same rate.
        if let limiter = api.rateLimiter, let seconds = limiter.admit(RateLimiter.key(credential.identity, address: address)) {
            api.metrics.rateLimited.increment()
            return error(parsed.id, limiter.problem(retryAfter: seconds, what: "messages"))
        }
        switch parsed {
        case .subscribe(let id, let url, let since): await subscribe(id: id, url: url, since: since)
        case .unsubscribe(let id): await unsubscribe(id: id)
        case .auth(let token): await authenticate(token: token)
        }
    }

    private func subscribe(id: String, url: String, since messageSince: Int64?) async {
        let request: BandRequest
        do {
            request = try await BandRequest.parse(url: url, store: api.store, maxFilters: maxFilters, identity: credential.identity, policy: api.policy)
        } catch {
            // A request id of its own, so that a 500's "request id …" finds its line in the log.
            let requestID = RequestHandler.requestID([:])
            let problem = api.problem(for: error, request: Request(method: .GET, uri: url, headers: [:], body: [], requestID: requestID))
            return self.error(id, problem)
        }
        if request.since != nil && messageSince != nil {
            return error(id, Problem(.badRequest, "since is given twice, in the url and in the message"))
        }
        let since = messageSince ?? request.since
        if let since {
            // A since ahead of the log cannot be served; one older than it was pruned gets a reset.
            guard let head = try? await api.store.changes(after: 0, collections: nil, limit: 0, maxBytes: 0).head else {
                return error(id, Problem(.serviceUnavailable, "the change log cannot be read"))
            }
            guard since <= head else { return error(id, Problem(.badRequest, "since \(since) is ahead of the log (its head is \(head))")) }
        }
        let sink = BandSink(id: id, url: url, socket: socket, band: request.band) { [weak self] sink in self?.ended(sink) }
        let refusal = state.withLock { state -> Problem? in
            guard !state.closed else { return Problem(.gone, "the socket is closing") }
            guard state.sinks[id] == nil else { return Problem(.conflict, "a subscription with id '\(id)' exists on this socket") }
            guard state.sinks.count < limit else {
                return Problem(.badRequest, "a socket holds at most \(limit) bands (--feed-bands-per-connection); unsubscribe one first")
            }
            if let same = state.sinks.values.first(where: { $0.band == request.band }) {
                return Problem(.conflict, "this socket follows this band already, as '\(same.id)'")
            }
            state.sinks[id] = sink
            return nil
        }
        if let refusal { return error(id, refusal) }
        switch await hub.subscribe(sink, since: since, collections: nil, band: request.band) {
        case .subscribed:
            break
        case .tooManyBands(let max):
            ended(sink)
            error(id, Problem(.serviceUnavailable, "the server follows at most \(max) distinct bands (--feed-max-bands); try again later"))
        case .closed:
            ended(sink)
        }
    }

    /// A new credential for the socket: every band is judged again as the new identity's
    /// subscription to its URL. A band that comes out the same (same filter, same read rule: a
    /// refreshed JWT of the same subject) goes on untouched, so it has no gap; any other ends
    /// with `ended` (with the problem when the new identity may not follow the URL at all), and
    /// the client reads the listing again. A token refused leaves the socket as it was.
    private func authenticate(token: String) async {
        var identity = credential.identity
        if let verifier = api.verifier {
            switch await verifier.authenticate(token: token) {
            case .success(let verified): identity = verified
            case .failure(let failure): return error(nil, Problem.unauthorized(failure))
            }
        }
        if let firehose, (try? FeedRoutes.requireFirehose(firehose, identity: identity, policy: api.policy, schema: api.store.schema)) == nil {
            return socket.closeUnauthorized(code: 4403, "the new credentials may not read this firehose")
        }
        for sink in state.withLock({ Array($0.sinks.values) }) {
            var problem: Problem?
            do {
                let request = try await BandRequest.parse(url: sink.url, store: api.store, maxFilters: maxFilters, identity: identity, policy: api.policy)
                if request.band == sink.band { continue }
            } catch {
                let request = Request(method: .GET, uri: sink.url, headers: [:], body: [], requestID: RequestHandler.requestID([:]))
                problem = api.problem(for: error, request: request)
            }
            guard state.withLock({ state in
                guard state.sinks[sink.id] === sink else { return false }
                state.sinks[sink.id] = nil
                return true
            }) else { continue }
            await hub.unsubscribe(sink)
            // Nothing of the band follows this.
            socket.answer(sink.endedMessage(problem))
        }
        credential.replace(with: identity)
        socket.answer(#"{"type":"authenticated"}"#)
    }

    private func unsubscribe(id: String) async {
        guard let sink = state.withLock({ $0.sinks.removeValue(forKey: id) }) else {
            return error(id, Problem(.notFound, "no subscription with id '\(id)' on this socket"))
        }
        await hub.unsubscribe(sink)
        // Nothing of this band follows: the hub has let go of the sink.
        socket.answer(#"{"type":"unsubscribed","id":\#(JSONText.quote(id))}"#)
    }

    /// A subscription is over (reset, refused): its id may be used again.
    private func ended(_ sink: BandSink) {
        state.withLock { state in
            if state.sinks[sink.id] === sink { state.sinks[sink.id] = nil }
        }
    }

    private func error(_ id: String?, _ problem: Problem) {
        let idJSON = id.map(JSONText.quote) ?? "null"
        socket.answer(#"{"type":"error","id":\#(idJSON),"problem":\#(problem.json(instance: nil, requestID: nil))}"#)
    }
}

/// One band subscription on a socket: the hub's sink for it, writing into the socket's queue.
final class BandSink: FeedSink {
    let id: String
    /// As the client gave it: judged again when the socket's credential changes.
    let url: String
    let band: Band
    private let socket: WebSocketSink
    private let ended: @Sendable (BandSink) -> Void
    private let name = Mutex<String>("")

    init(id: String, url: String, socket: WebSocketSink, band: Band, ended: @escaping @Sendable (BandSink) -> Void) {
        self.id = id
        self.url = url
        self.socket = socket
        self.band = band
        self.ended = ended
    }

    private var prefix: String { #""id":\#(JSONText.quote(id)),"band":\#(JSONText.quote(name.withLock { $0 }))"# }

    /// The subscription ended by a new credential; `problem` when it may not follow the URL.
    func endedMessage(_ problem: Problem?) -> String {
        #"{"type":"ended",\#(prefix)"# + (problem.map { #","problem":\#($0.json(instance: nil, requestID: nil))}"# } ?? "}")
    }

    func subscribed(band name: String) {
        self.name.withLock { $0 = name }
        socket.answer(#"{"type":"subscribed",\#(prefix)}"#)
    }

    /// The band's messages, encoded once for every socket that follows the band.
    func send(_ batch: EventBatch) -> Bool { socket.send(batch, tracksResume: false) }

    /// Paced by the socket, which every band's backlog on it shares.
    func sendBacklog(_ batch: EventBatch) -> Bool { socket.send(batch, tracksResume: false, backlog: true) }
    var hasRoomForBacklog: Bool { socket.hasRoomForBacklog }
    func waitForRoom() async { await socket.waitForRoom() }

    func ready(seq: Int64) {
        _ = socket.control(#"{"type":"ready",\#(prefix),"seq":\#(seq)}"#, overLimit: true)
    }

    func progress(seq: Int64) {
        _ = socket.control(#"{"type":"progress",\#(prefix),"seq":\#(seq)}"#)
    }

    var isDisconnected: Bool { socket.isDisconnected }

    func close(_ reason: FeedCloseReason) {
        switch reason {
        case .reset(let oldest):
            // This subscription ends; the socket and its other bands go on.
            ended(self)
            _ = socket.control(#"{"type":"reset",\#(prefix),"oldest":\#(oldest)}"#, overLimit: true)
        case .slow:
            socket.close(code: 4408, reason: "too slow; resume each band from the last seq it received")
        case .failure:
            socket.close(code: 1011, reason: "internal error; resume each band from the last seq it received")
        case .shutdown:
            socket.close(.shutdown)
        }
    }
}
