// A response body written over time (Server-Sent Events): the handler writes the head, then
// the route's stream function writes chunks from any thread until it finishes or the client
// goes away. Writes beyond `limit` unflushed bytes are refused, so a client that stops reading
// costs bounded memory and its subscription is closed instead of slowing anyone else. A
// backlog is paced instead: one page at a time, written when the previous one was.

import NIOCore
import NIOHTTP1
import Synchronization

public final class ResponseStream: Sendable {
    private let channel: any Channel
    private let limit: Int
    private struct State {
        /// Unflushed bytes that count against the limit.
        var outstanding = 0
        /// Unflushed bytes of backlog pages.
        var backlog = 0
        var finished = false
        var onClose: [@Sendable () -> Void] = []
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        /// For the access log: bytes queued, events delivered, and how the stream ended.
        var bytes = 0
        var events = 0
        var ended = "open"
    }

    private let state = Mutex(State())
    private let finishedPromise: EventLoopPromise<Void>

    init(channel: any Channel, limit: Int) {
        self.channel = channel
        self.limit = limit
        self.finishedPromise = channel.eventLoop.makePromise()
        channel.closeFuture.whenComplete { [weak self] _ in self?.closed() }
    }

    /// Completes when the stream has finished (by `finish()` or the connection closing).
    var finished: EventLoopFuture<Void> { finishedPromise.futureResult }

    /// Queues bytes; false when the client is too far behind (or gone).
    public func write(_ bytes: [UInt8]) -> Bool {
        write(ByteBuffer(bytes: bytes))
    }

    /// Queues a buffer, which may be shared with other streams (it is not copied).
    public func write(_ buffer: ByteBuffer) -> Bool {
        let count = buffer.readableBytes
        let accepted = state.withLock { state -> Bool in
            guard !state.finished, state.outstanding == 0 || state.outstanding + count <= limit else { return false }
            state.outstanding += count
            state.bytes += count
            return true
        }
        guard accepted else { return false }
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).whenComplete { [weak self] _ in
            self?.state.withLock { $0.outstanding -= count }
        }
        return true
    }

    /// Queues a page of backlog, handed over when `hasRoomForBacklog` said so: not counted
    /// against the limit. False when the stream has finished.
    public func writeBacklog(_ buffer: ByteBuffer) -> Bool {
        let count = buffer.readableBytes
        let accepted = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.backlog += count
            state.bytes += count
            return true
        }
        guard accepted else { return false }
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).whenComplete { [weak self] _ in
            guard let self else { return }
            let room = self.state.withLock { state -> Bool in
                state.backlog -= count
                return state.backlog == 0
            }
            if room { self.wakeRoomWaiters() }
        }
        return true
    }

    /// The backlog page handed over last has been written (or the stream has finished).
    public var hasRoomForBacklog: Bool { state.withLock { $0.finished || $0.backlog == 0 } }

    /// Returns once `hasRoomForBacklog` may have become true.
    public func waitForRoom() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                guard !state.finished && state.backlog > 0 else { return true }
                state.roomWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func wakeRoomWaiters() {
        let waiters = state.withLock { state in
            defer { state.roomWaiters = [] }
            return state.roomWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Counts `count` events as delivered (written to the connection), for the access log.
    public func delivered(_ count: Int) {
        state.withLock { $0.events += count }
    }

    /// What the stream carried and how it ended, for the access log line at its end.
    var summary: (bytes: Int, events: Int, ended: String) { state.withLock { ($0.bytes, $0.events, $0.ended) } }

    /// Ends the response (the connection may carry another request); `reason` is how the
    /// access log says it ended.
    public func finish(reason: String = "finished") {
        guard let actions = settle(reason) else { return }
        wakeRoomWaiters()
        for action in actions { action() }
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { [finishedPromise] _ in
            finishedPromise.succeed()
        }
    }

    /// Runs `action` once when the client disconnects or the stream finishes.
    public func onClose(_ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.finished { return true }
            state.onClose.append(action)
            return false
        }
        if runNow { action() }
    }

    /// Marks the stream finished; the close actions to run, or nil if it already was.
    private func settle(_ reason: String) -> [@Sendable () -> Void]? {
        state.withLock { state in
            guard !state.finished else { return nil }
            state.finished = true
            state.ended = reason
            defer { state.onClose = [] }
            return state.onClose
        }
    }

    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Whether the stream has finished or its connection closed.
    public var isFinished: Bool { state.withLock { $0.finished } }

    private func closed() {
        guard let actions = settle("client closed") else { return }
        wakeRoomWaiters()
        for action in actions { action() }
        finishedPromise.succeed()
    }
}
