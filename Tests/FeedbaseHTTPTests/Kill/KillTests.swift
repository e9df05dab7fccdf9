// kill -9 under load: the real binary on one database file, with writers (REST single and bulk
// creates, PATCH and DELETE, the sqlite3 shell) and a subscriber on each transport, SIGKILLed at
// random moments (while serving, after some acknowledged writes, while starting, while stopping
// after SIGTERM) and restarted, again and again. Then: every acknowledged write is in the file,
// every applied change has exactly one event and nothing else has any, every subscriber resumed
// with `since` and holds exactly the log in order, and `PRAGMA integrity_check` is ok after each
// kill and at the end.
//
// FEEDBASE_KILLS (default 20) sets the number of kills and FEEDBASE_KILL_SEED the schedule's seed
// (printed with every result); bench/killsoak.sh runs many more.

import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct KillTests {
    @Test func killedUnderLoadTheServerLosesNoAcknowledgedWriteAndNoEvent() async throws {
        let environment = ProcessInfo.processInfo.environment
        let kills = environment["FEEDBASE_KILLS"].flatMap(Int.init) ?? 20
        let seed = environment["FEEDBASE_KILL_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64(UInt32.max))
        let started = ContinuousClock.now
        let server = try KilledServer()
        let ledger = KillLedger(), gate = WriteGate()
        defer {
            gate.close()
            server.abandon()
            server.removeFiles()
        }
        let records = FeedTransport.allCases.map(FeedRecord.init)
        var failures: [String] = []
        var random = SeededGenerator(seed: seed)

        // The first kills land on a fresh file: while the first start creates the database,
        // applies the migrations and installs the log's triggers.
        var duringStartup = 0, duringStop = 0
        for _ in 0..<2 {
            duringStartup += 1
            try await server.startAndKill(after: .milliseconds(Int.random(in: 0...300, using: &random)))
            // (Not on a file the server never created: the shell would create it.)
            guard FileManager.default.fileExists(atPath: server.database) else { continue }
            let integrity = try await server.integrity()
            if integrity != "ok" { failures.append("after a kill during the first start: integrity_check: \(integrity)") }
        }
        try await server.start()
        let base = try await HTTP.request(port: try await server.up().port, "POST", "/projects",
            headers: [("Content-Type", "application/json")], body: #"{"name":"base"}"#)
        let projectID = try #require((try? JSONSerialization.jsonObject(with: Data(base.body)) as? [String: Any])?["id"] as? Int, "\(base.text)")
        ledger.record(WriteRecord(chain: "base", collection: "projects", kind: .create, marker: "base", rowID: String(projectID), outcome: .acknowledged, via: "POST"))

        let subscribers = records.map { record in Task { await KillSubscriber(server: server, record: record).follow() } }
        let writers = KillWriters(server: server, ledger: ledger, gate: gate, projectID: projectID)
        let writerTasks: [Task<String?, Never>] = [
            Task { await failure(of: { try await writers.singles("rest-a", seed: seed &+ 1) }) },
            Task { await failure(of: { try await writers.singles("rest-b", seed: seed &+ 2) }) },
            Task { await failure(of: { try await writers.singles("rest-c", seed: seed &+ 3) }) },
            Task { await failure(of: { try await writers.bulk("bulk", seed: seed &+ 4) }) },
            Task { await failure(of: { try await writers.shell("shell", seed: seed &+ 5) }) },
        ]

        do {
            for kill in 1...max(1, kills) {
                let roll = Int.random(in: 0..<8, using: &random)
                if kill > 1 && roll == 0 {
                    // One kill in eight lands while the process starts (migrations, WAL recovery, bind).
                    duringStartup += 1
                    try await server.startAndKill(after: .milliseconds(Int.random(in: 0...150, using: &random)))
                } else if roll == 1 {
                    // One in eight while it stops gracefully after SIGTERM (in-flight requests finishing).
                    duringStop += 1
                    if kill > 1 { try await server.start() }
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...500, using: &random)))  // the moment of the SIGTERM
                    try await server.kill(stopping: .milliseconds(Int.random(in: 0...100, using: &random)))
                } else {
                    if kill > 1 { try await server.start() }
                    if Bool.random(using: &random) {
                        // After a random number of acknowledged writes (bounded in time as well).
                        let target = ledger.acknowledged + Int.random(in: 1...60, using: &random)
                        let deadline = ContinuousClock.now + .seconds(5)
                        while ledger.acknowledged < target && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
                    } else {
                        try await Task.sleep(for: .milliseconds(Int.random(in: 0...1_000, using: &random)))  // the moment of the kill
                    }
                    try await server.kill()
                }
                let integrity = try await server.integrity()
                if integrity != "ok" { failures.append("after kill \(kill): integrity_check: \(integrity)") }
            }
            try await server.start()
        } catch {
            failures.append("kill loop: \(error)")
        }

        // The last server serves the end: writers stop, subscribers catch up with the head.
        gate.close()
        for task in writerTasks { if let failure = await task.value { failures.append(failure) } }
        var log: [FeedEvent] = []
        do {
            log = try await changes(server)
            for record in records { record.finish(at: log.last?.seq ?? 0, within: .seconds(30)) }
        } catch {
            failures.append("reading /_changes at the end: \(error)")
            for record in records { record.finish(at: 0, within: .zero) }
        }
        for task in subscribers { await task.value }
        server.finish()
        do { try await server.stop() } catch { failures.append("\(error)") }

        // The file, read by other programs after the last stop.
        let check = try await ChildProcess.run(try feedbaseBinary().path, ["check", "--db", server.database], environment: KilledServer.environment)
        if check.status != 0 { failures.append("feedbase check: \(check.status) \(check.stdout) \(check.stderr)") }
        let integrity = try await server.integrity()
        if integrity != "ok" { failures.append("at the end: integrity_check: \(integrity)") }
        let fileLog = try await shellJSON(server, """
            SELECT seq, collection, item_id AS id, op, coalesce(json_extract(item, '$.title'), json_extract(item, '$.name')) AS marker
            FROM _changes ORDER BY seq
            """).compactMap { row in
            (row["seq"] as? Int).map { FeedEvent(seq: $0, collection: row["collection"] as? String ?? "", op: row["op"] as? String ?? "",
                id: row["id"] as? String ?? "", marker: row["marker"] as? String ?? "") }
        }
        let rows = try await shellJSON(server, "SELECT id, title FROM tasks").reduce(into: [String: String]()) { rows, row in
            if let id = row["id"] as? Int { rows[String(id)] = row["title"] as? String ?? "" }
        }

        let writes = ledger.writes
        let oracle = KillOracle(writes: writes, log: log, fileLog: fileLog, rows: rows, subscribers: records)
        failures += oracle.failures()
        let count = { (outcome: (Outcome) -> Bool) in writes.filter { outcome($0.outcome) }.count }
        let summary = "KillTests: seed \(seed), \(kills + 2) kills (\(duringStartup) during startup, \(duringStop) during a stop) in \(ContinuousClock.now - started): "
            + "\(writes.count) writes (\(count { $0 == .acknowledged }) acknowledged, \(count { $0 == .unknown }) in doubt of which \(oracle.appliedInDoubt) applied, "
            + "\(count { if case .refused = $0 { true } else { false } }) refused), \(log.count) events, \(rows.count) rows; "
            + "resumes: " + records.map { record in
                let endings = record.endings.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
                return "\(record.transport.rawValue) \(record.resumes)" + (endings.isEmpty ? "" : " (ended by the server: \(endings.joined(separator: ", ")))")
            }.joined(separator: ", ")
        print(summary)
        if !failures.isEmpty { Issue.record("""
            \(summary)
            FEEDBASE_KILL_SEED=\(seed) replays this schedule. \(failures.count) findings:
            \(failures.prefix(40).joined(separator: "\n"))
            server log lines worth a look:
            \(server.troubles.prefix(20).joined(separator: "\n"))
            """) }
    }
}

/// A writer's error as a finding (nil when it ended as it should).
private func failure(of body: @Sendable () async throws -> Void) async -> String? {
    do {
        try await body()
        return nil
    } catch is RunFinished {
        return nil
    } catch {
        return "writer: \(error)"
    }
}

/// The whole change log as `/_changes` serves it, page by page.
private func changes(_ server: KilledServer) async throws -> [FeedEvent] {
    let connection = try await HTTPConnection(port: try await server.up().port)
    defer { connection.close() }
    var events: [FeedEvent] = []
    var since = 0
    for _ in 0..<100_000 {
        let response = try await connection.request("GET", "/_changes?since=\(since)&limit=1000")
        guard response.status == 200, let page = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let changes = page["changes"] as? [Any], let last = page["last_seq"] as? Int else {
            throw KillTestError("/_changes?since=\(since): \(response.status) \(response.text)")
        }
        if changes.isEmpty { return events }
        for change in changes {
            guard let event = FeedEvent(change) else { throw KillTestError("/_changes: not an event: \(change)") }
            events.append(event)
        }
        guard last > since else { throw KillTestError("/_changes?since=\(since) does not move on: last_seq \(last)") }
        since = last
    }
    throw KillTestError("/_changes did not end within 100,000 pages")
}

/// Rows of a query, read from the file by the sqlite3 shell (`-json`; no output for no rows).
private func shellJSON(_ server: KilledServer, _ sql: String) async throws -> [[String: Any]] {
    let result = try await server.sqlite3(["-json", server.database, sql])
    guard result.status == 0 else { throw KillTestError("sqlite3 \(sql): \(result.status) \(result.stderr)") }
    guard !result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
    return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
}
