// `feedbase backup` of a live database while writes go on: each copy is sound, and a server
// started on it serves exactly the original's rows and change log up to the copy's seq.

import FeedbaseModel
import FeedbaseSQLite
import Foundation
import Synchronization
import Testing

@Suite struct BackupTests {
    @Test func aBackupTakenDuringWritesServesTheSameDataAndFeedUpToItsSeq() async throws {
        try await withServer { server in
            // The writer goes on until the three copies are taken, so each copy is taken while
            // writes go on and none can be the final state, however the machine schedules it.
            let copying = Mutex(true)
            let writer = Task {
                var n = 0
                while copying.withLock({ $0 }) && n < 900 { // one page of 1,000 reads them all back
                    _ = try await server.request("POST", "/projects", json: #"{"name":"p\#(n)"}"#)
                    n += 1
                }
            }
            var copies: [(directory: String, seq: Int64)] = []
            for index in 0..<3 {
                // Wait (bounded) until the writer is well under way, then copy.
                let deadline = ContinuousClock.now + .seconds(60)
                while try await Self.projects(server.port).count < 30 * (index + 1) {
                    guard ContinuousClock.now < deadline else { throw HTTPTestClientError(message: "the writer did not get to \(30 * (index + 1)) rows") }
                    try await Task.sleep(for: .milliseconds(10))
                }
                let directory = server.directory + "/copy\(index)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let seq = try SQLiteStore.backup(path: server.database, to: directory + "/test.sqlite")
                copies.append((directory, seq))
            }
            copying.withLock { $0 = false }
            try await writer.value
            // One write after the last copy: the original is always ahead of every copy.
            _ = try await server.request("POST", "/projects", json: #"{"name":"last"}"#)
            let original = try await Self.changes(server.port)
            // The copies were taken while the writes went on, each later than the one before.
            #expect(copies.map(\.seq) == copies.map(\.seq).sorted())
            #expect(copies.contains { $0.seq > 0 && $0.seq < Int64(original.count) })
            for (directory, seq) in copies {
                let report = try SQLiteStore.check(path: directory + "/test.sqlite")
                #expect(report.isSound)
                #expect(report.head == seq)
                let copy = try await TestServer.start(directory: directory, migrations: server.migrations)
                do {
                    let expected = original.filter { ($0["seq"] as? Int ?? 0) <= Int(seq) }
                    let served = try await Self.changes(copy.port)
                    #expect(try served.map(canonical) == expected.map(canonical), "the copy at seq \(seq)")
                    let names = try await Self.projects(copy.port).compactMap { $0["name"] as? String }
                    #expect(names == expected.compactMap { ($0["item"] as? [String: Any])?["name"] as? String }, "the copy at seq \(seq)")
                } catch {
                    Issue.record("the copy at seq \(seq): \(error)")
                }
                await copy.stop(removingFiles: false)
            }
        }
    }

    static func projects(_ port: Int) async throws -> [[String: Any]] {
        try array(try await HTTP.request(port: port, "GET", "/projects?order=id&limit=1000"))
    }

    static func changes(_ port: Int) async throws -> [[String: Any]] {
        let page = try await HTTP.request(port: port, "GET", "/_changes?since=0&limit=1000")
        let object = try JSONSerialization.jsonObject(with: Data(page.body)) as? [String: Any]
        return object?["changes"] as? [[String: Any]] ?? []
    }
}
