// `feedbase backup PATH` and `feedbase check`: a consistent copy of a live database, change log
// included, and its integrity checks with the log's range. Both run beside a running server.

import ArgumentParser
import FeedbaseModel
import FeedbaseSQLite
import Foundation

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database, change log included, as of one moment, while it is in use; a server started on the copy serves the same data and feed up to that moment.")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "The new file to write (it must not exist).")
    var destination: String

    func run() async throws {
        do {
            try requireSQLite(database.db, for: "backup", instead: "use pg_dump, whose snapshot holds the rows and the change log's tables alike")
            try requireDatabase(database.db)
            let head = try SQLiteStore.backup(path: database.db, to: destination)
            print("backed up \(database.db) to \(destination) at seq \(head)")
        } catch {
            throw reported(error)
        }
    }
}

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run SQLite's integrity and foreign key checks and report the change log's range; exits 1 when a check fails.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let report: CheckReport
        do {
            try requireSQLite(database.db, for: "check", instead: "use PostgreSQL's own checks (pg_amcheck)")
            try requireDatabase(database.db)
            report = try SQLiteStore.check(path: database.db)
        } catch {
            throw reported(error)
        }
        print("integrity: " + report.integrity.joined(separator: "; "))
        print("foreign keys: " + (report.foreignKeys.isEmpty ? "ok" : report.foreignKeys.joined(separator: "; ")))
        if let head = report.head {
            let range = report.oldestSeq.map { "seq \($0) to \(report.newestSeq ?? $0)" } ?? "empty"
            print("change log: \(report.events) events kept, \(range); head \(head)")
        } else {
            print("change log: none (no server with the feed on has run on this database)")
        }
        if !report.isSound { throw ExitCode.failure }
    }
}
