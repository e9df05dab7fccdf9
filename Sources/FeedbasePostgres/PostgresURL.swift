// A database URL (`postgres://user[:password]@host[:port]/database[?sslmode=…&sslrootcert=…]`,
// or `postgresql://`) as the engine's configurations: how `--db` and FEEDBASE_DB choose
// PostgreSQL. TLS as libpq reads `sslmode` (docs/POSTGRES.md, "TLS"), for the pool and for the
// engine's own connections alike (PostgresEndpoint).

import FeedbaseModel
import PostgresNIO

/// Where the engine connects: the pool's configuration and that of its own single connections
/// (LISTEN, migrations, the catalog), with the same server, credentials and TLS.
public struct PostgresEndpoint: Sendable {
    public var client: PostgresClient.Configuration
    public var connection: PostgresConnection.Configuration

    public init(client: PostgresClient.Configuration, connection: PostgresConnection.Configuration) {
        self.client = client
        self.connection = connection
    }
}

public enum PostgresURL {
    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The pool's configuration `text` describes, or why it cannot be read.
    public static func configuration(_ text: String) throws -> PostgresClient.Configuration {
        try endpoint(text).client
    }

    /// Both configurations `text` describes, or why it cannot be read (a CA file that cannot be
    /// read is said here, before any connection).
    public static func endpoint(_ text: String) throws -> PostgresEndpoint {
        guard let scheme = text.range(of: "://"), isPostgres(text) else { throw StoreError(.internal, "not a postgres:// URL") }
        var rest = Substring(text[scheme.upperBound...])
        var query = ""
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw invalid("it names no database (postgres://user@host:port/database)") }
        let database = decode(rest[rest.index(after: slash)...])
        var authority = rest[..<slash]
        var username = "postgres", password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                username = decode(credentials[..<colon])
                password = decode(credentials[credentials.index(after: colon)...])
            } else {
                username = decode(credentials)
            }
        }
        var host = String(authority), port = 5432
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
                throw invalid("its port is not a number from 1 to 65535")
            }
            port = number
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !database.isEmpty else { throw invalid("it needs a host and a database") }
        var parameters: [String: String] = [:]
        for parameter in query.split(separator: "&") {
            let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            parameters[decode(pair[0])] = pair.count > 1 ? decode(pair[1]) : ""
        }
        let tls = try PostgresTLS(mode: parameters["sslmode"], rootCertificate: parameters["sslrootcert"])
        for name in ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"] where parameters[name] != nil {
            throw invalid("\(name) is not supported (no client certificates, no revocation lists): leave it out")
        }
        return PostgresEndpoint(
            client: PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls.client),
            connection: PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: try tls.connection()))
    }

    static func invalid(_ why: String) -> StoreError {
        StoreError(.internal, "cannot read the database URL: \(why)")
    }

    /// Percent-decoding of one URL part.
    private static func decode(_ part: Substring) -> String {
        var bytes: [UInt8] = []
        var index = part.utf8.startIndex
        let utf8 = part.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), let high = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), high < utf8.endIndex,
                let low = utf8.index(high, offsetBy: 1, limitedBy: utf8.endIndex), low < utf8.endIndex,
                let value = UInt8(String(decoding: [utf8[high], utf8[low]], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index = utf8.index(after: low)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
