// A full disk: writes answer 507 with a problem and keep nothing, reads and the feed go on
// serving what is committed, writes succeed again once space returns, and the file stays sound.
// Two ways to fill it: a small tmpfs of the test's own with a filler file (when this machine lets
// the test mount one: root, or CAP_SYS_ADMIN), and the server's own size limit (`--max-db-size`,
// SQLite's max_page_count), which every machine can run.

import FeedbaseModel
import FeedbaseSQLite
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct DiskFullTests {
    @Test func aFullTmpfsAnswers507ThenWritesResumeWhenSpaceReturns() async throws {
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-full-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        guard mount("tmpfs", mountPoint, "tmpfs", 0, "size=6m") == 0 else {
            // The size-limit test below covers the server's side on such a machine.
            print("DiskFullTests: cannot mount a tmpfs here (errno \(errno)); only the size-limit test runs")
            return
        }
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }

        let server = try await TestServer.start(directory: mountPoint)
        let filler = mountPoint + "/filler"
        do {
            try await Self.fillThenRecover(server) {
                // Everything tmpfs has left, 64 KiB at a time, until ENOSPC (bounded by its
                // size); then 256 KiB back, so some writes fit before the disk is full.
                let descriptor = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                guard descriptor >= 0 else { throw HTTPTestClientError(message: "cannot create the filler: errno \(errno)") }
                defer { close(descriptor) }
                let chunk = [UInt8](repeating: 0x5A, count: 64 * 1024)
                var size = 0
                for _ in 0..<200 {
                    let written = write(descriptor, chunk, chunk.count)
                    guard written > 0 else { break }
                    size += written
                }
                guard ftruncate(descriptor, off_t(max(0, size - 256 * 1024))) == 0 else {
                    throw HTTPTestClientError(message: "cannot shrink the filler: errno \(errno)")
                }
            } freeSpace: {
                try FileManager.default.removeItem(atPath: filler)
                return server
            }
        } catch {
            await server.stop(removingFiles: false)
            throw error
        }
    }

    @Test func theSizeLimitAnswers507ThenWritesResumeWhenRaised() async throws {
        let first = try await TestServer.start { $0.store.connection.maxDatabaseBytes = 600 * 1024 }
        var current = first
        do {
            try await Self.fillThenRecover(first) {
                // The limit is the filler: the writes themselves reach it.
            } freeSpace: {
                await first.stop(removingFiles: false)
                current = try await TestServer.start(directory: first.directory, migrations: first.migrations)
                return current
            }
        } catch {
            await current.stop()
            throw error
        }
    }

    /// Fills the disk, writes until the server answers 507, checks what reads and the feed serve,
    /// frees space (which may restart the server), writes again, checks the file. Stops the server.
    private static func fillThenRecover(
        _ server: TestServer, fill: () throws -> Void, freeSpace: () async throws -> TestServer
    ) async throws {
        let follower = try await EventStreamFollower(port: server.port, collection: "projects", query: "order=id", since: 0)
        defer { follower.close() }
        try fill()

        // Writes until the disk refuses one; every acknowledged write is recorded.
        let description = String(repeating: "a full disk must lose nothing. ", count: 70)
        var acknowledged: [String] = []
        var refused = 0
        for n in 0..<3_000 where refused < 3 {
            let name = "project \(n)"
            let response = try await server.request("POST", "/projects", json: #"{"name":"\#(name)","description":"\#(description)"}"#)
            switch response.status {
            case 201: acknowledged.append(name)
            case 507:
                refused += 1
                #expect(response.header("Content-Type") == "application/problem+json")
                let problem = try object(response)
                #expect(problem["status"] as? Int == 507)
                #expect((problem["detail"] as? String)?.contains("disk is full") == true, "\(problem)")
                #expect(!response.text.contains("INSERT") && !response.text.contains("SQLITE"), "\(response.text)")
            default:
                Issue.record("POST answered \(response.status): \(response.text)")
                return
            }
        }
        try #require(refused == 3, "the disk never filled: \(acknowledged.count) writes acknowledged")
        #expect(acknowledged.count > 0)

        // A bulk write and a patch are refused whole, too.
        let bulk = try await server.request("POST", "/projects", json: #"[{"name":"bulk a","description":"\#(description)"},{"name":"bulk b"}]"#)
        #expect(bulk.status == 507, "\(bulk.status) \(bulk.text)")

        // Reads and the feed serve exactly what was acknowledged.
        #expect(try await Self.names(server.port) == acknowledged)
        let log = try await Self.createdNames(server.port)
        #expect(log == acknowledged)
        var followed: [String] = []
        while followed.count < acknowledged.count {
            let message = try await follower.next()
            guard message.kind == "change" else { continue }
            followed.append((message.data["item"] as? [String: Any])?["name"] as? String ?? "?")
        }
        #expect(followed == acknowledged)

        // Space returns: the next write is acknowledged, with its event.
        let recovered = try await freeSpace()
        let again = try await recovered.request("POST", "/projects", json: #"{"name":"after the disk was full"}"#)
        #expect(again.status == 201, "\(again.status) \(again.text)")
        acknowledged.append("after the disk was full")
        #expect(try await Self.names(recovered.port) == acknowledged)
        #expect(try await Self.createdNames(recovered.port) == acknowledged)
        await recovered.stop(removingFiles: false)

        let report = try SQLiteStore.check(path: recovered.database)
        #expect(report.isSound, "\(report)")
        try? FileManager.default.removeItem(atPath: recovered.directory)
    }

    static func names(_ port: Int) async throws -> [String] {
        try array(try await HTTP.request(port: port, "GET", "/projects?order=id&limit=1000&select=name")).compactMap { $0["name"] as? String }
    }

    /// The names of the projects created, in the change log's order.
    static func createdNames(_ port: Int) async throws -> [String] {
        let page = try await HTTP.request(port: port, "GET", "/_changes?since=0&limit=1000")
        let changes = (try JSONSerialization.jsonObject(with: Data(page.body)) as? [String: Any])?["changes"] as? [[String: Any]] ?? []
        return changes.filter { $0["op"] as? String == "create" }.compactMap { ($0["item"] as? [String: Any])?["name"] as? String }
    }
}
