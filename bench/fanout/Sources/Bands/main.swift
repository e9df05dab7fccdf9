// Bands benchmark: many WebSocket subscribers, each following one band on `/_feed?mode=bands`,
// or as many HTTP clients polling the same filtered pages, while a paced writer creates tasks.
// Prints what the subscribers got (every message counted against what they should get, in
// increasing seq), commit→delivery latency, and the server's CPU time per change.
//
//   Bands --port P --server-pid PID [--mode push|poll] [--subscribers 10000] [--bands 100]
//         [--range 100] [--rate 200] [--seconds 10] [--target spread|none] [--poll-ms 1000]
//
// push: subscriber i follows `tasks?project_id=eq.(i % bands + 1)`, the first `range` of them
// `tasks?priority=gte.(i % 5 + 1)` instead (a band the index cannot file). Writes go to project
// `n % bands + 1` (`spread`: each change is for one band) or to a project no band follows
// (`none`: only the cost of judging the bands). Tasks are created with no priority, so the range
// bands are judged on every change and never match.
// poll: subscriber i GETs `/tasks?project_id=eq.(i % bands + 1)&done=is.false` every poll-ms
// on a keep-alive connection (starts spread over the interval).
// Projects 1 ... bands + 1 must exist (bench/bands.sh creates them on a fresh database).

#if canImport(Glibc)
import Glibc
#endif
import BenchSupport
import NIOCore
import NIOPosix
import Synchronization

func option(_ name: String, _ fallback: String) -> String {
    guard let index = CommandLine.arguments.firstIndex(of: name), index + 1 < CommandLine.arguments.count else { return fallback }
    return CommandLine.arguments[index + 1]
}
func option(_ name: String, _ fallback: Int) -> Int { Int(option(name, String(fallback))) ?? fallback }

let port = option("--port", 8080)
let serverPID = option("--server-pid", 0)
let mode = option("--mode", "push")
let subscriberCount = option("--subscribers", 10_000)
let bandCount = max(1, option("--bands", 100))
let rangeCount = min(subscriberCount, option("--range", 100))
let rate = max(0.01, Double(option("--rate", "200")) ?? 200)
let seconds = option("--seconds", 10)
let target = option("--target", "spread")
let pollInterval = option("--poll-ms", 1000)
/// `--tokens FILE`: line K is the JWT of the subscribers of project K, whose read rule
/// (`project_id=eq.$sub`) makes their band: they subscribe to `/tasks` with no filter.
/// `--writer-token T`: the writer's JWT. Without them: no credentials, explicit filters.
let tokens: [String] = {
    let path = option("--tokens", "")
    guard !path.isEmpty, let file = fopen(path, "r") else { return [] }
    defer { fclose(file) }
    var lines: [String] = []
    var line = [CChar](repeating: 0, count: 4096)
    while fgets(&line, 4096, file) != nil {
        lines.append(String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return lines
}()
let writerToken = option("--writer-token", "")


/// The server's CPU time (user + system) in seconds, from /proc.
func serverCPU() -> Double {
    guard serverPID > 0, let file = fopen("/proc/\(serverPID)/stat", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 4096)
    guard fgets(&line, 4096, file) != nil else { return 0 }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let close = text.lastIndex(of: ")") else { return 0 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // After the command: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}


final class Tally: Sendable {
    struct State {
        var histogram = [Int](repeating: 0, count: 10_001)
        var messages = 0
        var outOfOrder = 0
        var ready = 0
        var errors = 0
        var closed = 0
        var polls = 0
        var pollBytes = 0
    }
    let state = Mutex(State())
}
let tally = Tally()

/// One band subscriber on its own WebSocket.
final class Subscriber: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let url: String
    let token: String?
    var handshakeDone = false
    var buffer = ByteBuffer()
    var lastSeq: Int64 = 0
    var local = [Int](repeating: 0, count: 10_001)
    var localMessages = 0
    var localDisorder = 0

    init(url: String, token: String? = nil) {
        self.url = url
        self.token = token
    }

    func channelActive(context: ChannelHandlerContext) {
        let request = "GET /_feed?mode=bands HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "")
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        var frame = ByteBuffer(string: request)
        // The subscribe message, masked (with a zero mask, which leaves the bytes as they are).
        let payload = Array(#"{"type":"subscribe","id":"s","url":"\#(url)"}"#.utf8)
        frame.writeInteger(UInt8(0x81))
        if payload.count < 126 {
            frame.writeInteger(UInt8(0x80 | payload.count))
        } else {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(payload.count))
        }
        frame.writeBytes([0, 0, 0, 0])
        frame.writeBytes(payload)
        context.writeAndFlush(NIOAny(frame), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        if !handshakeDone {
            guard let view = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            buffer.moveReaderIndex(forwardBy: view.upperBound - buffer.readerIndex)
            handshakeDone = true
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
            if opcode == 1, let payload = buffer.getBytes(at: start + header, length: length) {
                if payload.starts(with: Array(#"{"seq":"#.utf8)) {
                    var seq: Int64 = 0
                    for byte in payload.dropFirst(7) {
                        guard byte >= 48 && byte <= 57 else { break }
                        seq = seq * 10 + Int64(byte - 48)
                    }
                    if seq <= lastSeq { localDisorder += 1 }
                    lastSeq = seq
                    localMessages += 1
                    if let at = atMilliseconds(payload) { local[min(10_000, max(0, Int(now - at)))] += 1 }
                } else if payload.starts(with: Array(#"{"type":"ready""#.utf8)) {
                    tally.state.withLock { $0.ready += 1 }
                } else if payload.starts(with: Array(#"{"type":"error""#.utf8)) {
                    tally.state.withLock { $0.errors += 1 }
                    print(String(decoding: payload, as: UTF8.self))
                }
            } else if opcode == 9 {
                context.writeAndFlush(NIOAny(ByteBuffer(bytes: [0x8A, 0x80, 0, 0, 0, 0])), promise: nil)
            }
            buffer.moveReaderIndex(forwardBy: header + length)
        }
        buffer.discardReadBytes()
    }

    func flushTally() {
        let (histogram, messages, disorder) = (local, localMessages, localDisorder)
        tally.state.withLock { state in
            for bucket in 0..<histogram.count where histogram[bucket] > 0 { state.histogram[bucket] += histogram[bucket] }
            state.messages += messages
            state.outOfOrder += disorder
        }
        local = [Int](repeating: 0, count: 10_001)
        localMessages = 0
        localDisorder = 0
    }

    func channelInactive(context: ChannelHandlerContext) {
        flushTally()
        tally.state.withLock { $0.closed += 1 }
    }
}

/// One polling client on a keep-alive connection: a GET every interval, the response read whole.
final class Poller: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let request: ByteBuffer
    let offset: Int
    var buffer = ByteBuffer()
    var task: RepeatedTask?

    init(path: String, offset: Int) {
        request = ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.offset = offset
    }

    func channelActive(context: ChannelHandlerContext) {
        let request = self.request
        let channel = context.channel
        task = context.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(Int64(offset)), delay: .milliseconds(Int64(pollInterval))) { _ in
            channel.writeAndFlush(request, promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        while let end = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) {
            let head = String(decoding: buffer.readableBytesView[buffer.readerIndex..<end.lowerBound], as: UTF8.self).lowercased()
            guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                let length = Int(line.dropFirst(15).trimmingCharacters())
            else { return }
            let total = end.upperBound - buffer.readerIndex + length
            guard buffer.readableBytes >= total else { return }
            buffer.moveReaderIndex(forwardBy: total)
            tally.state.withLock {
                $0.polls += 1
                $0.pollBytes += length
            }
        }
        buffer.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        task?.cancel()
        tally.state.withLock { $0.closed += 1 }
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(drop { $0 == " " }.reversed().drop { $0 == " " || $0 == "\r" }.reversed()) }
}

// Subscribers (or pollers), connected a few hundred at a time.
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
var channels: [any Channel] = []
var followers = [Int](repeating: 0, count: bandCount + 2)  // subscribers per project band
let connectStarted = nowMilliseconds()
for index in 0..<subscriberCount {
    let project = index % bandCount + 1
    if mode != "poll" && index >= rangeCount { followers[project] += 1 }
    let channel = try await ClientBootstrap(group: group)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                // The handler is made on the channel's loop, where it lives.
                let handlers = channel.pipeline.syncOperations
                if mode == "poll" {
                    try handlers.addHandler(Poller(path: "/tasks?project_id=eq.\(project)&done=is.false", offset: index * pollInterval / max(1, subscriberCount)))
                } else if index < rangeCount {
                    try handlers.addHandler(Subscriber(url: "/tasks?priority=gte.\(index % 5 + 1)"))
                } else if tokens.count >= project {
                    try handlers.addHandler(Subscriber(url: "/tasks", token: tokens[project - 1]))
                } else {
                    try handlers.addHandler(Subscriber(url: "/tasks?project_id=eq.\(project)"))
                }
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    channels.append(channel)
    if mode != "poll" && index % 500 == 499 {
        for _ in 0..<600 where tally.state.withLock({ $0.ready + $0.errors }) < index + 1 - 200 { try await Task.sleep(for: .milliseconds(50)) }
    }
}
if mode != "poll" {
    for _ in 0..<1200 where tally.state.withLock({ $0.ready + $0.errors }) < subscriberCount { try await Task.sleep(for: .milliseconds(50)) }
}
let ready = tally.state.withLock { $0.ready }
print("\(mode == "poll" ? "pollers connected" : "subscribers ready"): \(mode == "poll" ? channels.count : ready) of \(subscriberCount) in \(nowMilliseconds() - connectStarted) ms")

// Writes: a few keep-alive connections, paced to the rate.
let total = Int(rate * Double(seconds))
let cpuBefore = serverCPU()
let pollsBefore = tally.state.withLock { $0.polls }
let started = nowMilliseconds()
try await pacedWrites(
    port: port, path: "/tasks", rate: rate, total: total, connections: min(8, max(1, Int(rate / 25))),
    authorization: writerToken.isEmpty ? nil : "Bearer " + writerToken
) { n, _ in
    let project = target == "none" ? bandCount + 1 : n % bandCount + 1
    return #"{"project_id":\#(project),"title":"bench \#(n)"}"#
}
let writing = Double(nowMilliseconds() - started) / 1000
var expected = 0
if mode != "poll" && target != "none" {
    for n in 0..<total { expected += followers[n % bandCount + 1] }
}
// Wait (bounded, 30 s) until the subscribers have every message they should, then collect.
for _ in 0..<300 {
    for channel in channels where channel.isActive {
        try? await channel.eventLoop.submit { try channel.pipeline.syncOperations.handler(type: Subscriber.self).flushTally() }.get()
    }
    if mode == "poll" || tally.state.withLock({ $0.messages }) >= expected { break }
    try await Task.sleep(for: .milliseconds(100))
}
let elapsed = Double(nowMilliseconds() - started) / 1000
let cpu = serverCPU() - cpuBefore
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
func fixed(_ value: Double, _ digits: Int = 1) -> String {
    let scale = (0..<digits).reduce(1.0) { value, _ in value * 10 }
    let rounded = (value * scale).rounded() / scale
    return String(rounded)
}
print("writes: \(total) in \(fixed(writing)) s (\(Int(Double(total) / writing))/s); target \(target); bands \(bandCount) + \(min(5, rangeCount)) range")
if mode == "poll" {
    let polls = result.polls - pollsBefore
    print("polls answered: \(polls) in \(fixed(elapsed)) s (\(Int(Double(polls) / elapsed))/s), \(result.pollBytes / max(1, result.polls)) bytes each")
} else {
    print("messages received: \(result.messages) of \(expected) expected; out of order: \(result.outOfOrder); errors: \(result.errors); closed: \(result.closed)")
    if samples > 0 { print("commit→delivery latency (ms): p50 \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1.0))") }
}
print("server CPU: \(fixed(cpu, 2)) s over \(fixed(elapsed)) s; per change \(Int(cpu / Double(max(1, total)) * 1_000_000)) µs")
