// Where `--host` listens, and what a failure to listen there means for the person starting the
// server: `localhost` is every address the name resolves to (127.0.0.1 and ::1), an IPv6
// address may come in brackets (`[::1]`), and a bind error says what is wrong and what to do.

import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum ListenAddresses {
    /// The numeric addresses to bind for `host`, IPv4 first, without repeats.
    static func resolve(_ host: String, port: Int) throws -> [String] {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        // Both loopbacks, whatever /etc/hosts says (RFC 6761: localhost is the loopback); a
        // machine without IPv6 serves on the first alone.
        if bare.lowercased() == "localhost" { return ["127.0.0.1", "::1"] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(bare, nil, &hints, &list) == 0, let first = list else {
            throw ListenError(host: host, address: bare, port: port, error: nil)
        }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let address = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(address) { addresses.append(address) }
            }
            entry = current.pointee.ai_next
        }
        // IPv4 first: the log's address and a port picked with 0 come from it.
        return addresses.filter { !$0.contains(":") } + addresses.filter { $0.contains(":") }
    }
}

/// The server could not listen: what is wrong, and what to do about it, in one sentence.
public struct ListenError: Error, CustomStringConvertible {
    public var host: String
    public var address: String
    public var port: Int
    /// The errno of the bind, when it failed there (nil: the host did not resolve).
    public var code: Int32?

    init(host: String, address: String, port: Int, error: (any Error)?) {
        self.host = host
        self.address = address
        self.port = port
        self.code = (error as? IOError)?.errnoCode ?? (error == nil ? nil : -1)
    }

    public var description: String {
        let shown = address.contains(":") ? "[\(address)]" : address
        switch code {
        case nil:
            return "cannot resolve the host '\(host)'; pass --host with an address of this machine, such as 127.0.0.1"
        case EADDRINUSE:
            return "port \(port) on \(shown) is in use by another program; stop it, or pass --port with another port (0 picks a free one)"
        case EACCES:
            return "port \(port) on \(shown) needs privileges this user does not have; pass --port 1024 or above"
        case EADDRNOTAVAIL:
            return "\(shown) is not an address of this machine; pass --host 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        case let code?:
            let reason = code > 0 ? String(cString: strerror(code)) : "the address cannot be used"
            return "cannot listen on \(shown) port \(port): \(reason)"
        }
    }
}
