// Limits set as high as the flags take them must not turn a client's request into arithmetic
// that overflows: a body larger than a `--max-body` past a quarter of Int.max is a 413, and the
// server lives on.

import Foundation
import Testing

@Suite struct LimitOverflowTests {
    @Test func aBodyPastAHugeMaxBodyIsA413AndTheServerLives() async throws {
        try await withServer(sql: AccessMatrixTests.sql, maxBodySize: Int.max / 2) { server in
            let connection = try await HTTPConnection(port: server.port)
            defer { connection.close() }
            try await connection.write("POST", "/notes", headers: [("Content-Type", "application/json"), ("Content-Length", String(Int.max))])
            #expect(try await connection.readResponse().status == 413)
            #expect(try await server.request("GET", "/notes").status == 200)
        }
    }
}
