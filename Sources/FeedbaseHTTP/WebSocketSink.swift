// The sink behind one feed WebSocket: the queue of encoded frames between the hub and the socket.
//
// Back-pressure: while the socket takes data, batches go straight to it. When it stops taking
// them (the channel is not writable), batches wait in this connection's own queue, bounded by
// the feed buffer (the `ready` and `reset` messages are taken past it). Backlogs (of the
// firehose or of any band on the socket) are paced instead: one page at a time is handed over,
// when the previous one has left the queue and the channel is writable, and is not counted
// against the buffer. Past the buffer the subscriber is closed with 4408 and the seq of the last
// event handed to the socket, so that it resumes with `since` and loses nothing. The close frame
// is queued too, behind what is kept (nothing for 4408, the backlog and the reset message for
// 4410), so nothing ever follows it on the wire; a client that reads again finds it. A channel that closes makes the sink refuse events, so
// the hub drops it even when its subscription lands after the unsubscribe.

import FeedbaseFeed
import FeedbaseModel
import NIOCore
import NIOWebSocket
import Synchronization

final class WebSocketSink: FeedSink {
    /// Text frames, encoded: one buffer per batch of events.
    private struct Batch {
        var frames: ByteBuffer
        var firstSeq: Int64?
        /// The close frame: the connection closes once it is written.
        var closes = false
        /// A page of a backlog: paced by `hasRoomForBacklog`, not counted against the limit.
        var backlog = false
    }

    private struct State {
        var queue = CircularBuffer<Batch>()
        /// Bytes queued that count against the limit: all but backlog pages.
        var queuedBytes = 0
        /// Bytes of backlog pages queued.
        var backlogBytes = 0
        /// Backlogs waiting for the socket to take what it was handed.
        var roomWaiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
        /// The channel itself is gone (not only closing).
        var disconnected = false
        /// A drain is scheduled on the event loop and has not started: one more batch needs no
        /// task of its own (one task per burst, not per batch).
        var drainScheduled = false
        /// The last firehose event handed to the queue (what a 4401 resumes after), or the
        /// subscription's start.
        var lastQueuedSeq: Int64?
        /// For the access log: events and bytes taken, and how the socket ended.
        var events = 0
        var bytes = 0
        var ended: String?
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
    func send(_ batch: EventBatch, tracksResume: Bool, backlog: Bool = false) -> Bool {
        // Encoded once per batch, shared by every WebSocket subscriber that takes all of it.
        let frames = batch.encoded("websocket") { events in
            var frames = ByteBuffer()
            frames.reserveCapacity(events.reduce(0) { $0 + $1.json.count + 10 })
            for event in events { frames.writeWebSocketTextFrame(event.json) }
            return frames
        }
        if tracksResume, let last = batch.events.last?.seq { state.withLock { $0.lastQueuedSeq = last } }
        guard enqueue(Batch(frames: frames, firstSeq: tracksResume ? batch.events.first?.seq : nil, backlog: backlog)) else { return false }
        state.withLock { $0.events += batch.events.count }
        return true
    }

    /// The client sent a close frame (its code): how the access log says the socket ended.
    func clientClosed(_ code: WebSocketErrorCode) {
        state.withLock { state in
            if state.ended == nil { state.ended = "client closed (\(code))" }
        }
    }

    /// Events and bytes taken, and how the socket ended, for the access log line at its end.
    var summary: (events: Int, bytes: Int, ended: String) {
        state.withLock { ($0.events, $0.bytes, $0.ended ?? "connection lost") }
    }

    func sendBacklog(_ batch: EventBatch) -> Bool {
        send(batch, tracksResume: true, backlog: true)
    }

    /// No backlog page waits in the queue and the channel takes data: a subscription's backlog
    /// (any of the socket's) may hand over its next page. True once closing (the page is then
    /// refused, which ends the subscription), so that nothing waits on a socket that is going.
    var hasRoomForBacklog: Bool {
        let (closed, empty) = state.withLock { ($0.closed, $0.backlogBytes == 0) }
        return closed || (empty && channel.isWritable)
    }

    func waitForRoom() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let closed = state.withLock { state -> Bool in
                guard !state.closed else { return true }
                state.roomWaiters.append(continuation)
                return false
            }
            if closed {
                continuation.resume()
            } else {
                // The drain tells the waiters when there is room (now, or once the socket drains).
                channel.eventLoop.execute { self.drain() }
            }
        }
    }

    /// Wakes every backlog waiting for room (each checks again, in the hub).
    private func wakeRoomWaiters() {
        let waiters = state.withLock { state in
            defer { state.roomWaiters = [] }
            return state.roomWaiters
        }
        for waiter in waiters { waiter.resume() }
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
            state.backlogBytes = 0
        }
        wakeRoomWaiters()
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

    /// The credentials expired or were revoked (4401), or were replaced by ones that may not
    /// read the firehose (4403): what is queued goes out (it was sent while they held), then
    /// the close with the seq the firehose resumes from.
    func closeUnauthorized(code: Int = 4401, _ why: String = "credentials expired or revoked") {
        let resume = state.withLock { $0.lastQueuedSeq }
        close(
            code: WebSocketErrorCode(codeNumber: code),
            reason: why + "; authenticate again and resume "
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
            if state.ended == nil { state.ended = "server closed (\(code))" }
            let firstQueued = state.queue.lazy.compactMap(\.firstSeq).first
            if !keepQueued {
                state.queue = []
                state.queuedBytes = 0
                state.backlogBytes = 0
            }
            var frame = ByteBuffer()
            frame.writeWebSocketCloseFrame(code: code, reason: makeReason(firstQueued))
            state.queue.append(Batch(frames: frame, firstSeq: nil, closes: true))
            state.queuedBytes += frame.readableBytes
            return true
        }
        guard closing else { return }
        wakeRoomWaiters()
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
            // limit bounds what piles up behind a socket that stopped taking data. A backlog
            // page was paced instead (`hasRoomForBacklog`): one at a time, outside the limit.
            if batch.backlog {
                state.backlogBytes += bytes
            } else {
                guard overLimit || state.queuedBytes == 0 || state.queuedBytes + bytes <= limit else { return (false, false) }
                state.queuedBytes += bytes
            }
            state.queue.append(batch)
            state.bytes += bytes
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
                if batch.backlog {
                    state.backlogBytes -= batch.frames.readableBytes
                } else {
                    state.queuedBytes -= batch.frames.readableBytes
                }
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
        if state.withLock({ !$0.roomWaiters.isEmpty && $0.backlogBytes == 0 }) && channel.isWritable { wakeRoomWaiters() }
    }
}
