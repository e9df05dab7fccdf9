// The throwaway cluster itself: it starts once per test process and gives each test a database
// of its own.

import FeedbaseTestSupport
import PostgresNIO
import Testing

@Suite(.needsPostgres)
struct ClusterTests {
    @Test func eachTestGetsItsOwnEmptyDatabase() async throws {
        let first = try await freshDatabase()
        let second = try await freshDatabase()
        #expect(first.name != second.name)
        #expect(first.port == second.port)
        try await withClient(first) { client in
            try await client.query("CREATE TABLE items (id int PRIMARY KEY)")
            try await client.query("INSERT INTO items VALUES (1)")
        }
        let tables = try await withClient(second) { client in
            var names: [String] = []
            for try await name in try await client.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").decode(String.self) {
                names.append(name)
            }
            return names
        }
        #expect(tables.isEmpty)
    }

    @Test func theServerSpeaksUTF8OnLoopback() async throws {
        let database = try await freshDatabase()
        let (encoding, address) = try await withClient(database) { client in
            var result: (String, String) = ("", "")
            for try await row in try await client.query(
                "SELECT pg_encoding_to_char(encoding), host(inet_server_addr()) FROM pg_database WHERE datname = current_database()"
            ).decode((String, String).self) {
                result = row
            }
            return result
        }
        #expect(encoding == "UTF8")
        #expect(address == "127.0.0.1")
    }
}
