// Fan-out benchmark: N WebSocket subscribers on /_feed (raw handshake and frame parsing, so the
// client stays cheap) while a paced writer POSTs creates at a fixed rate. Each subscriber checks
// it receives every event in order and records commit→delivery latency from the event's `at`
// (stamped inside the writing transaction, so the figure slightly overstates the latency).
// Usage: Fanout --port P [--write-port W] [--subscribers 1000] [--rate 1000] [--seconds 10]
// --write-port: the writer POSTs to another node than the subscribers' (nodes over one
// PostgreSQL: commit on node A → delivery on node C); the default is --port.

#if canImport(Glibc)
import Glibc
#endif
import BenchSupport
import NIOCore
import NIOPosix
import Synchronization

func option(_ name: String, _ fallback: Int) -> Int {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count,
        let value = Int(CommandLine.arguments[index + 1])
    else { return fallback }
    return value
}
let port = option("--port", 8080)
let writePort = option("--write-port", port)
let subscriberCount = option("--subscribers", 1000)
let rate = option("--rate", 1000)
let seconds = option("--seconds", 10)
/// Subscribers that stop reading right after the handshake: they must be cut off (4408) while
/// the others keep up, and the server's memory must stay bounded.
let stalledCount = option("--stalled", 0)
/// Extra bytes of description per created item (bigger events fill a stalled socket sooner).
let payload = option("--payload", 0)



/// Results shared by all subscribers.
final class Tally: Sendable {
    struct State {
        var histogram = [Int](repeating: 0, count: 10_001)  // milliseconds, last bucket = 10 s or more
        var events = 0
        var outOfOrder = 0
        var closedEarly = 0
        var ready = 0
        var cutOff4408 = 0
        var lastSeq: [Int64] = []
    }
    let state: Mutex<State>
    init(count: Int) { state = Mutex(State(lastSeq: [Int64](repeating: 0, count: count))) }
}
let tally = Tally(count: subscriberCount + stalledCount)
/// For each event (by seq after the head the subscribers were ready at), the latency of its last
/// delivery: commit → the last of all subscribers.
let lastDelivery = Mutex<(base: Int64, latency: [Int])>((-1, []))

final class Subscriber: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let index: Int
    let stalled: Bool
    var handshakeDone = false
    var buffer = ByteBuffer()
    var lastSeq: Int64 = 0
    var local = [Int](repeating: 0, count: 10_001)
    var localEvents = 0
    var localDisorder = 0

    init(index: Int, stalled: Bool = false) {
        self.index = index
        self.stalled = stalled
    }

    func channelActive(context: ChannelHandlerContext) {
        let request = "GET /_feed HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        context.writeAndFlush(NIOAny(ByteBuffer(string: request)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        if !handshakeDone {
            guard let view = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            buffer.moveReaderIndex(forwardBy: view.upperBound - buffer.readerIndex)
            handshakeDone = true
            if stalled {
                // Stop reading: the server's data piles up in the socket and then in its queue.
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            }
        }
        let now = nowMilliseconds()
        while buffer.readableBytes >= 2 {
            let start = buffer.readerIndex
            guard let b0: UInt8 = buffer.getInteger(at: start), let b1: UInt8 = buffer.getInteger(at: start + 1) else { return }
            var length = Int(b1 & 0x7f)
            var header = 2
            if length == 126 {
                guard let l: UInt16 = buffer.getInteger(at: start + 2) else { return }
                length = Int(l)
                header = 4
            } else if length == 127 {
                guard let l: UInt64 = buffer.getInteger(at: start + 2) else { return }
                length = Int(l)
                header = 10
            }
            guard buffer.readableBytes >= header + length else { break }
            let opcode = b0 & 0x0f
            if opcode == 1, let payload = buffer.viewBytes(at: start + header, length: length) {
                if payload.starts(with: Array(#"{"seq":"#.utf8)) {
                    var seq: Int64 = 0
                    for byte in payload.dropFirst(7) {
                        guard byte >= 48 && byte <= 57 else { break }
                        seq = seq * 10 + Int64(byte - 48)
                    }
                    if lastSeq != 0 && seq != lastSeq + 1 { localDisorder += 1 }
                    lastSeq = seq
                    if !stalled { localEvents += 1 }
                    if !stalled, let at = atMilliseconds(Array(payload)) {
                        let latency = min(10_000, max(0, Int(now - at)))
                        local[latency] += 1
                        lastDelivery.withLock { last in
                            let index = Int(seq - last.base - 1)
                            if last.base >= 0, index >= 0, index < last.latency.count { last.latency[index] = max(last.latency[index], latency) }
                        }
                    }
                } else if payload.starts(with: Array(#"{"type":"ready""#.utf8)) {
                    tally.state.withLock { $0.ready += 1 }
                    var head: Int64 = 0
                    for byte in payload.dropFirst(22) {
                        guard byte >= 48 && byte <= 57 else { break }
                        head = head * 10 + Int64(byte - 48)
                    }
                    lastDelivery.withLock { last in
                        if last.base < 0 { last = (head, [Int](repeating: 0, count: rate * seconds)) }
                    }
                }
            } else if opcode == 8, let code: UInt16 = buffer.getInteger(at: start + header), code == 4408 {
                tally.state.withLock { $0.cutOff4408 += 1 }
            } else if opcode == 9 {
                // Pong with an empty masked payload.
                context.writeAndFlush(NIOAny(ByteBuffer(bytes: [0x8A, 0x80, 0, 0, 0, 0])), promise: nil)
            }
            buffer.moveReaderIndex(forwardBy: header + length)
        }
        buffer.discardReadBytes()
    }

    func flushTally() {
        let (histogram, events, disorder, last, index) = (local, localEvents, localDisorder, lastSeq, self.index)
        tally.state.withLock { state in
            for bucket in 0..<histogram.count where histogram[bucket] > 0 { state.histogram[bucket] += histogram[bucket] }
            state.events += events
            state.outOfOrder += disorder
            state.lastSeq[index] = last
        }
        local = [Int](repeating: 0, count: 10_001)
        localEvents = 0
        localDisorder = 0
    }

    func channelInactive(context: ChannelHandlerContext) {
        flushTally()
        tally.state.withLock { $0.closedEarly += 1 }
    }
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
var subscribers: [any Channel] = []
for index in 0..<subscriberCount {
    let channel = try await ClientBootstrap(group: group)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Subscriber(index: index)) }
        }
        .connect(host: "127.0.0.1", port: port).get()
    subscribers.append(channel)
}
var stalled: [any Channel] = []
for index in 0..<stalledCount {
    let channel = try await ClientBootstrap(group: group)
        .channelOption(.socketOption(.so_rcvbuf), value: 4096)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(Subscriber(index: subscriberCount + index, stalled: true))
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    stalled.append(channel)
}
// Wait (bounded) until every subscriber is live.
for _ in 0..<300 where tally.state.withLock({ $0.ready }) < subscriberCount { try await Task.sleep(for: .milliseconds(100)) }
print("subscribers ready: \(tally.state.withLock { $0.ready }) of \(subscriberCount)")

// The writer: sixteen keep-alive connections, each POSTing at its share of the rate.
let total = rate * seconds
let body = #"{"name":"fanout-\#(UInt64.random(in: 0..<UInt64.max))-"#
let description = String(repeating: "x", count: payload)
let started = nowMilliseconds()
try await pacedWrites(port: writePort, path: "/projects", rate: Double(rate), total: total, connections: 16) { n, writer in
    body + "\(writer)-\(n)\",\"description\":\"" + description + "\"}"
}
let writing = Double(nowMilliseconds() - started) / 1000
// Wait (bounded, 30 s) for every subscriber to reach the last event, then collect.
var lastSeen: [Int64] = []
for _ in 0..<300 {
    for channel in subscribers where channel.isActive {
        try? await channel.eventLoop.submit { try channel.pipeline.syncOperations.handler(type: Subscriber.self).flushTally() }.get()
    }
    lastSeen = Array(tally.state.withLock { $0.lastSeq }.prefix(subscriberCount))
    if let lowest = lastSeen.min(), let highest = lastSeen.max(), lowest == highest, lowest > 0,
        tally.state.withLock({ $0.events }) >= total * subscriberCount { break }
    try await Task.sleep(for: .milliseconds(100))
}
// The stalled subscribers read again: each should find a 4408 close after what reached it.
for channel in stalled {
    channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
    channel.read()
}
for _ in 0..<300 where tally.state.withLock({ $0.cutOff4408 }) < stalledCount { try await Task.sleep(for: .milliseconds(100)) }
let result = tally.state.withLock { $0 }
let samples = result.histogram.reduce(0, +)
func percentile(_ p: Double) -> Int {
    var cumulative = 0
    for (bucket, count) in result.histogram.enumerated() {
        cumulative += count
        if Double(cumulative) >= p * Double(samples) { return bucket }
    }
    return 10_000
}
print("writes: \(total) in \(String(Int(writing * 10) / 10) + "." + String(Int(writing * 10) % 10)) s (\(Int(Double(total) / writing))/s) over 16 connections")
print("events received: \(result.events) of \(total * subscriberCount) expected; out of order or gaps: \(result.outOfOrder); subscribers closed early: \(result.closedEarly)")
// A subscriber that stopped short of the last event after the 30 s wait: of the highest seq any
// subscriber reached, and of the head they were ready at plus the writes (so that subscribers that
// all got nothing, or never became ready, count too). Counted, not hidden: issue #21's open defect.
let highestSeen = lastSeen.max() ?? 0
let readyBase = lastDelivery.withLock { $0.base }
let lastEvent = readyBase < 0 ? Int64.max : max(highestSeen, readyBase + Int64(total))
print("subscribers short of the last event after 30 s: \(lastSeen.filter { $0 < lastEvent }.count) of \(subscriberCount)")
if stalledCount > 0 { print("stalled subscribers cut off with 4408: \(result.cutOff4408) of \(stalledCount)") }
print("commit→delivery latency (ms, from the event's at): p50 \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1.0))")
let toLast = lastDelivery.withLock { $0.latency }.sorted()
if !toLast.isEmpty {
    func at(_ p: Double) -> Int { toLast[min(toLast.count - 1, Int(p * Double(toLast.count)))] }
    print("commit→delivery to the last of \(subscriberCount) subscribers (ms, per event): p50 \(at(0.5)), p99 \(at(0.99)), max \(toLast.last ?? 0)")
}
