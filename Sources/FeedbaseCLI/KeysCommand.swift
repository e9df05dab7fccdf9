// `feedbase keys create | list | revoke`: API keys in the database's `_feedbase_keys`. These
// run as their own process, often while `feedbase serve` has the same file open; they touch the
// database through one plain connection (APIKeyFile), and a running server sees a revocation
// within 250 ms, when it next reloads the active keys.

import ArgumentParser
import FeedbaseAuth
import FeedbaseModel
import FeedbasePostgres
import FeedbaseSQLite
import Foundation
import Logging

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys (Authorization: Bearer fbk_...).",
        subcommands: [Create.self, List.self, Revoke.self])
}

extension KeysCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key and print its token on standard output, once: only its hash is stored.",
            discussion: "TOKEN=$(feedbase keys create --role user) keeps the token; the note on standard error is for people.")

        @OptionGroup var database: DatabaseOptions

        @Option(name: .long, help: "The role that requests made with the key act as.")
        var role: String

        @Option(name: .long, help: "The key's subject: $sub in rules (default: none).")
        var subject: String?

        @Option(name: .long, help: "When the key stops working: a duration from now (30d, 12h, 15m, 90s, 2w) or an RFC 3339 date-time (default: never).")
        var expires: String?

        func run() async throws {
            do {
                guard !role.trimmingCharacters(in: .whitespaces).isEmpty else { throw CLIError("\(source("role")) must not be empty") }
                if subject?.isEmpty == true { throw CLIError("\(source("subject")) must not be empty; leave it out for a key without one") }
                let now = UnixTime.now()
                let expiresAt = try expires.map { try KeyExpiry.parse($0, now: now) }
                let token = APIKeyToken.generate()
                let hash = APIKeyToken.hash(token), role = self.role, subject = self.subject
                let key: StoredAPIKey
                if PostgresURL.isPostgres(database.db) {
                    key = try await PostgresAPIKeys.with(url: database.db, logger: quietLogger) { keys in
                        try await keys.create(hash: hash, role: role, subject: subject, expiresAt: expiresAt, now: now)
                    }
                } else {
                    try requireDatabase(database.db)
                    key = try APIKeyFile(path: database.db, options: database.connectionOptions())
                        .create(hash: hash, role: role, subject: subject, expiresAt: expiresAt, now: now)
                }
                print(token)
                var details = ["role \(role)"]
                if let subject { details.append("subject \(subject)") }
                details.append(expiresAt.map { "expires \(RFC3339.format($0))" } ?? "never expires")
                printNote("created API key \(key.id) (\(details.joined(separator: ", "))); its token, on standard output, is shown this once and cannot be recovered")
            } catch {
                throw reported(error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every API key, revoked and expired ones included (never their tokens).")

        @OptionGroup var database: DatabaseOptions

        @Flag(name: .long, help: "Print a JSON array instead of a table.")
        var json = false

        func run() async throws {
            do {
                let keys: [StoredAPIKey]
                if PostgresURL.isPostgres(database.db) {
                    keys = try await PostgresAPIKeys.with(url: database.db, logger: quietLogger) { try await $0.all() }
                } else {
                    try requireDatabase(database.db)
                    keys = try APIKeyFile(path: database.db, options: database.connectionOptions()).all()
                }
                print(json ? KeyListing.json(keys) : KeyListing.table(keys), terminator: "")
            } catch {
                throw reported(error)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an API key: a running server refuses it within 250 ms.")

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The key's id, as 'feedbase keys list' shows it.")
        var id: String

        func run() async throws {
            do {
                let id = self.id
                let (revoked, keys): (Bool, [StoredAPIKey])
                if PostgresURL.isPostgres(database.db) {
                    (revoked, keys) = try await PostgresAPIKeys.with(url: database.db, logger: quietLogger) { keys in
                        let revoked = try await keys.revoke(id: id)
                        return (revoked, revoked ? [] : try await keys.all())
                    }
                } else {
                    try requireDatabase(database.db)
                    let file = APIKeyFile(path: database.db, options: try database.connectionOptions())
                    let done = try file.revoke(id: id)
                    (revoked, keys) = (done, done ? [] : try file.all())
                }
                if revoked {
                    print("revoked API key \(id)")
                    return
                }
                // Not active: say why. Revoking again is not an error, so scripts may repeat it.
                guard let key = keys.first(where: { $0.id == id }) else { throw CLIError("no API key with id \(id)") }
                if let revokedAt = key.revokedAt {
                    printNote("API key \(id) was already revoked at \(RFC3339.format(revokedAt))")
                } else if let expiresAt = key.expiresAt {
                    printNote("API key \(id) expired at \(RFC3339.format(expiresAt)); nothing to revoke")
                }
            } catch {
                throw reported(error)
            }
        }
    }
}

/// The keys commands print one line on standard error (scripts read it): the PostgreSQL client's
/// own notices (a lease before its pool runs, say) would add lines, so only its errors are logged.
private var quietLogger: Logger {
    var logger = Logger(label: "feedbase")
    logger.logLevel = .error
    return logger
}

/// One line on standard error that is not an error (standard output is for what scripts read).
private func printNote(_ message: String) {
    FileHandle.standardError.write(Data(("feedbase: " + message + "\n").utf8))
}

/// `--expires`: a positive duration from now, or an RFC 3339 date-time in the future.
enum KeyExpiry {
    private static let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800]

    static func parse(_ text: String, now: Int64) throws -> Int64 {
        if let unit = text.last.flatMap({ units[$0] }) {
            let digits = text.dropLast()
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let count = Int64(digits), count > 0 else {
                throw CLIError("--expires \(text): a duration is a positive whole number and a unit (s, m, h, d, w), such as 30d")
            }
            let (seconds, overflow) = count.multipliedReportingOverflow(by: unit)
            let (expiry, later) = now.addingReportingOverflow(seconds)
            guard !overflow, !later, expiry <= RFC3339.latest else { throw CLIError("--expires \(text) is too far in the future") }
            return expiry
        }
        guard let expiry = RFC3339.parse(text) else {
            throw CLIError("\(source("expires")) must be a duration such as 30d, 12h, 15m, 90s or 2w, or an RFC 3339 date-time such as 2030-01-31T12:00:00Z, not '\(text)'")
        }
        guard expiry > now else { throw CLIError("--expires \(text) is in the past") }
        return expiry
    }
}

/// `feedbase keys list` output: a table for people, or JSON for programs.
enum KeyListing {
    static func table(_ keys: [StoredAPIKey]) -> String {
        guard !keys.isEmpty else { return "no API keys\n" }
        let header = ["ID", "ROLE", "SUBJECT", "CREATED", "EXPIRES", "REVOKED"]
        let rows = keys.map { key in
            [key.id, key.role, key.subject ?? "-", RFC3339.format(key.createdAt),
             key.expiresAt.map(RFC3339.format) ?? "never", key.revokedAt.map(RFC3339.format) ?? "-"]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.indices.map { column in
                column == row.count - 1 ? row[column] : row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func json(_ keys: [StoredAPIKey]) -> String {
        let time = { (seconds: Int64?) in seconds.map { JSONText.quote(RFC3339.format($0)) } ?? "null" }
        let objects = keys.map { key in
            "  " + JSONText.object([
                ("id", JSONText.quote(key.id)), ("role", JSONText.quote(key.role)),
                ("subject", key.subject.map(JSONText.quote) ?? "null"), ("created_at", time(key.createdAt)),
                ("expires_at", time(key.expiresAt)), ("revoked_at", time(key.revokedAt)),
            ])
        }
        return keys.isEmpty ? "[]\n" : "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
