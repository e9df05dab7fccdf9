// A database URL (`postgres://user[:password]@host[:port]/database`, or `postgresql://`) as the
// engine's client configuration: how `--db` and FEEDBASE_DB choose PostgreSQL. Without TLS for
// now: an `sslmode` other than `disable` is refused rather than silently ignored.

import FeedbaseModel
import PostgresNIO

public enum PostgresURL {
    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// The client configuration `text` describes, or why it cannot be read.
    public static func configuration(_ text: String) throws -> PostgresClient.Configuration {
        guard let scheme = text.range(of: "://"), isPostgres(text) else { throw StoreError(.internal, "not a postgres:// URL") }
        var rest = Substring(text[scheme.upperBound...])
        var query = ""
        if let mark = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: mark)...])
            rest = rest[..<mark]
        }
        guard let slash = rest.firstIndex(of: "/") else { throw invalid(text, "it names no database (postgres://user@host:port/database)") }
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
                throw invalid(text, "its port is not a number from 1 to 65535")
            }
            port = number
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !database.isEmpty else { throw invalid(text, "it needs a host and a database") }
        for parameter in query.split(separator: "&") where parameter.hasPrefix("sslmode=") && parameter != "sslmode=disable" {
            throw invalid(text, "TLS (\(parameter)) is not supported yet; connect over a trusted network with sslmode=disable")
        }
        return PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: .disable)
    }

    private static func invalid(_ text: String, _ why: String) -> StoreError {
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
