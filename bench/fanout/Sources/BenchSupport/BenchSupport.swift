// What both benchmark clients (Fanout, Bands) need: the wall clock in milliseconds, an event's
// `at` read back as such, and a writer that paces POSTs over keep-alive connections.

#if canImport(Glibc)
import Glibc
#endif
import NIOPosix

public func nowMilliseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
}

/// `"at":"2026-11-25T06:44:36.123Z"` (the last one in `array`) → Unix milliseconds.
public func atMilliseconds(_ array: [UInt8]) -> Int64? {
    let key = Array(#""at":""#.utf8)
    guard array.count > key.count + 24 else { return nil }
    var index = array.count - key.count - 24
    while index >= 0 {
        if array[index..<index + key.count].elementsEqual(key) { break }
        index -= 1
    }
    guard index >= 0 else { return nil }
    let s = index + key.count
    func n(_ from: Int, _ count: Int) -> Int { (0..<count).reduce(0) { $0 * 10 + Int(array[s + from + $1] - 48) } }
    let (y, m, d) = (n(0, 4), n(5, 2), n(8, 2))
    let yy = m <= 2 ? y - 1 : y
    let era = yy / 400
    let yoe = yy - era * 400
    let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    return Int64(days) * 86_400_000 + Int64(n(11, 2) * 3_600_000 + n(14, 2) * 60_000 + n(17, 2) * 1000 + n(20, 3))
}

/// POSTs `total` JSON bodies (`body(n, connection)`) to `path` at `rate` per second, over
/// `connections` keep-alive connections, each on a thread of its own: blocking calls on Swift's
/// concurrency pool (two threads here) would cap the writer at two requests in flight and
/// measure the commit latency instead of the server's throughput. Returns when all are answered.
public func pacedWrites(
    port: Int, path: String, rate: Double, total: Int, connections: Int, authorization: String? = nil,
    body: @escaping @Sendable (Int, Int) -> String
) async throws {
    let credentials = authorization.map { "Authorization: \($0)\r\n" } ?? ""
    let threads = NIOThreadPool(numberOfThreads: connections)
    threads.start()
    let started = nowMilliseconds()
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        for writer in 0..<connections {
            tasks.addTask {
                try await threads.runIfActive {
                    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    var address = sockaddr_in()
                    address.sin_family = sa_family_t(AF_INET)
                    address.sin_port = in_port_t(UInt16(port).bigEndian)
                    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
                    _ = withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    defer { close(fd) }
                    var scratch = [UInt8](repeating: 0, count: 65536)
                    // This connection's writes: every connections-th of the total, from its index.
                    for n in stride(from: writer, to: total, by: connections) {
                        let wait = started + Int64(Double(n) * 1000 / rate) - nowMilliseconds()
                        if wait > 0 { usleep(useconds_t(wait * 1000)) }
                        let json = body(n, writer)
                        let request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(credentials)Content-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
                        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                        // Read until the end of one response (small: its body ends with "}").
                        var got = 0
                        repeat {
                            let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                            if count <= 0 { return }
                            got += count
                        } while !scratch[0..<got].contains(UInt8(ascii: "}"))
                    }
                }
            }
        }
        try await tasks.waitForAll()
    }
    try await threads.shutdownGracefully()
}
