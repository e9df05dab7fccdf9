// The checkpointer thread (Sources/FeedbaseSQLite/Checkpointer.swift) keeps the WAL bounded while
// writes go on: the writer's own automatic checkpoint is off, so without it the WAL would hold
// every write since the server started.

import Foundation
import Testing

@Suite struct CheckpointTests {
    @Test func theWALStaysBoundedAndTheDatabaseFileTakesTheWrites() async throws {
        try await withServer { server in
            #expect(try await server.request("POST", "/projects", json: #"{"name":"p"}"#).status == 201)
            let tags = String(repeating: "x", count: 1000)
            let bulk = "[" + (0..<500).map { #"{"project_id":1,"title":"t\#($0)","tags":["\#(tags)"]}"# }.joined(separator: ",") + "]"
            func size(_ suffix: String) -> Int {
                ((try? FileManager.default.attributesOfItem(atPath: server.database + suffix))?[.size] as? Int) ?? 0
            }
            var largestWAL = 0
            for _ in 0..<16 {
                #expect(try await server.request("POST", "/tasks", json: bulk).status == 201)
                largestWAL = max(largestWAL, size("-wal"))
            }
            // 8,000 rows of about 1 KiB, each twice (the row and its change event): some 20 MiB
            // written. Checkpoints start at 1,000 pages (4 MiB); one bulk write adds about 1.3.
            #expect(largestWAL < 12 << 20, "the WAL grew to \(largestWAL) bytes")
            // The database file itself holds most of it once the checkpointer has caught up.
            for _ in 0..<500 where size("") < 12 << 20 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(size("") >= 12 << 20, "the database file is \(size("")) bytes")
        }
    }
}
