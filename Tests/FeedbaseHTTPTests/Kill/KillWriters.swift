// The writers of the kill test, each owning its rows: REST single creates followed by PATCHes
// and a DELETE of the same row, REST bulk creates, and the sqlite3 shell doing the same as the
// first through SQL. Each records every write in the ledger with what it saw of it, and writes
// until the run closes the gate (and at most a million rows or batches each).

import FeedbaseTestSupport
import Foundation
import Synchronization

/// One writer's connection to whichever server is up; used by one task only.
final class KillClient {
    enum Answer {
        case response(HTTPResponse)
        /// Sent, and no answer came: the write may or may not have happened.
        case lost
    }

    private let server: KilledServer
    private var connection: HTTPConnection?
    private var served: Served?

    init(_ server: KilledServer) { self.server = server }

    deinit { connection?.close() }

    /// Sends one request to the server that is up (waiting for one while there is none) on a
    /// kept-alive connection. A refused connection sent nothing, so it is tried again on the next
    /// server; anything that fails after the connection is made is `lost`.
    func send(_ method: String, _ target: String, json: String? = nil) async throws -> Answer {
        for _ in 0..<1_000 {
            let served = try await server.up()
            if connection == nil || self.served != served {
                connection?.close()
                connection = nil
                do {
                    connection = try await HTTPConnection(port: served.port, timeout: .seconds(10))
                    self.served = served
                } catch {
                    // Withdrawn while connecting (or not yet accepting): wait, bounded, for a change.
                    let deadline = ContinuousClock.now + .seconds(1)
                    while server.current == served && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                    continue
                }
            }
            guard let connection else { continue }
            do {
                let headers = json == nil ? [] : [("Content-Type", "application/json")]
                return .response(try await connection.request(method, target, headers: headers, body: json.map { Array($0.utf8) }))
            } catch {
                connection.close()
                self.connection = nil
                return .lost
            }
        }
        throw KillTestError("no connection to the server after 1,000 attempts")
    }
}

/// Whether writers go on; the run closes it before the final checks.
final class WriteGate: Sendable {
    private let open = Mutex(true)
    var isOpen: Bool { open.withLock { $0 } }
    func close() { open.withLock { $0 = false } }
}

struct KillWriters {
    let server: KilledServer
    let ledger: KillLedger
    let gate: WriteGate
    let projectID: Int

    private func outcome(_ answer: KillClient.Answer) -> (Outcome, Any?) {
        switch answer {
        case .lost: return (.unknown, nil)
        case .response(let response) where (200..<300).contains(response.status):
            return (.acknowledged, try? JSONSerialization.jsonObject(with: Data(response.body)))
        case .response(let response): return (.refused("\(response.status) \(response.text)"), nil)
        }
    }

    /// One row's three kinds of write, as one writer makes them; each says what it saw, and a
    /// create the id it was told.
    private struct RowWrites {
        var via: (create: String, update: String, delete: String)
        var create: (_ title: String) async throws -> (Outcome, String?)
        var update: (_ id: String, _ title: String) async throws -> Outcome
        var delete: (_ id: String) async throws -> Outcome
    }

    /// Creates a row, renames it up to `renames` times, and deletes it half the time; a row whose
    /// write was not acknowledged is left as it is, and the next row begun.
    private func rows(_ name: String, seed: UInt64, renames: Int, _ writes: RowWrites) async throws {
        var random = SeededGenerator(seed: seed)
        var row = 0
        while gate.isOpen && row < 1_000_000 {
            row += 1
            let chain = "\(name)-\(row)"
            var title = chain
            let (created, id) = try await writes.create(title)
            ledger.record(WriteRecord(chain: chain, collection: "tasks", kind: .create, marker: title, rowID: id, outcome: created, via: writes.via.create))
            guard created == .acknowledged, let id else { continue }
            var intact = true
            for rename in 0..<Int.random(in: 0...renames, using: &random) where intact {
                title = "\(chain).u\(rename)"
                let updated = try await writes.update(id, title)
                ledger.record(WriteRecord(chain: chain, collection: "tasks", kind: .update, marker: title, rowID: id, outcome: updated, via: writes.via.update))
                intact = updated == .acknowledged
            }
            if intact && Bool.random(using: &random) {
                let deleted = try await writes.delete(id)
                ledger.record(WriteRecord(chain: chain, collection: "tasks", kind: .delete, marker: title, rowID: id, outcome: deleted, via: writes.via.delete))
            }
        }
    }

    /// Rows through REST: POST, PATCH (a merge patch of the title), DELETE.
    func singles(_ name: String, seed: UInt64) async throws {
        let client = KillClient(server)
        try await rows(name, seed: seed, renames: 3, RowWrites(
            via: ("POST", "PATCH", "DELETE"),
            create: { title in
                let (created, body) = outcome(try await client.send("POST", "/tasks", json: #"{"project_id":\#(projectID),"title":"\#(title)"}"#))
                return (created, ((body as? [String: Any])?["id"] as? Int).map(String.init))
            },
            update: { id, title in outcome(try await client.send("PATCH", "/tasks/\(id)", json: #"{"title":"\#(title)"}"#)).0 },
            delete: { id in outcome(try await client.send("DELETE", "/tasks/\(id)")).0 }))
    }

    /// Bulk creates of 2 to 8 rows: all or nothing, each row with its own event.
    func bulk(_ name: String, seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let client = KillClient(server)
        var batch = 0
        while gate.isOpen && batch < 1_000_000 {
            batch += 1
            let titles = (0..<Int.random(in: 2...8, using: &random)).map { "\(name)-\(batch).\($0)" }
            let json = "[" + titles.map { #"{"project_id":\#(projectID),"title":"\#($0)"}"# }.joined(separator: ",") + "]"
            let (created, body) = outcome(try await client.send("POST", "/tasks", json: json))
            let ids = (body as? [[String: Any]])?.map { ($0["id"] as? Int).map(String.init) }
            if created == .acknowledged && ids?.count != titles.count {
                throw KillTestError("a bulk create answered \(String(describing: body)) for \(titles.count) rows")
            }
            for (index, title) in titles.enumerated() {
                ledger.record(WriteRecord(chain: title, collection: "tasks", kind: .create, marker: title,
                    rowID: ids?[index], outcome: created, via: "bulk POST"))
            }
        }
    }

    /// The same as `singles` through the sqlite3 shell, which writes while the server runs, while
    /// it is being killed, and while it is down; the server must find these events too.
    func shell(_ name: String, seed: UInt64) async throws {
        func run(_ sql: String) async throws -> (Outcome, String) {
            let result = try await server.sqlite3([server.database, sql])
            return result.status == 0 ? (.acknowledged, result.stdout) : (.refused("sqlite3 \(result.status): \(result.stderr)"), "")
        }
        try await rows(name, seed: seed, renames: 2, RowWrites(
            via: ("sqlite3 INSERT", "sqlite3 UPDATE", "sqlite3 DELETE"),
            create: { title in
                let (created, output) = try await run("INSERT INTO tasks (project_id, title) VALUES (\(projectID), '\(title)') RETURNING id")
                return (created, Int(output.trimmingCharacters(in: .whitespacesAndNewlines)).map(String.init))
            },
            update: { id, title in try await run("UPDATE tasks SET title = '\(title)' WHERE id = \(id)").0 },
            delete: { id in try await run("DELETE FROM tasks WHERE id = \(id)").0 }))
    }
}
