// The JSON of each PostgreSQL type (docs/SCHEMA.md), as the change log's triggers write it and
// as a plain SELECT with the same expressions reads it.

import FeedbaseModel
import FeedbasePostgres
import FeedbaseTestSupport
import Logging
import PostgresNIO
import Testing

struct PostgresTypeMappingTests {
    @Test func postgresTypesMapToTheSameJSONTypesAsSQLitesColumns() {
        let expected: [(String, ColumnType)] = [
            ("smallint", .integer), ("integer", .integer), ("bigint", .integer),
            ("numeric(10,2)", .number), ("numeric", .number), ("real", .number), ("double precision", .number),
            ("boolean", .boolean), ("jsonb", .json), ("json", .json), ("bytea", .blob),
            ("timestamp with time zone", .dateTime), ("timestamp(3) with time zone", .dateTime),
            ("timestamp without time zone", .dateTime), ("date", .date), ("time without time zone", .time),
            ("text", .string), ("character varying(10)", .string), ("uuid", .string), ("interval", .string),
            ("integer[]", .string),
        ]
        for (type, json) in expected {
            #expect(PostgresRowJSON.columnType(type) == json, "\(type)")
        }
    }
}

@Suite(.needsPostgres)
struct PostgresRowJSONTests {
    let logger = Logger(label: "test")

    @Test func eachTypeReadsAsTheIssueMapsIt() async throws {
        let database = try await freshDatabase()
        let (logged, selected) = try await withClient(database) { client in
            try await client.query("""
                CREATE TABLE kinds (id bigint PRIMARY KEY, i integer, s smallint, n numeric(10,2), f double precision,
                    r real, nan double precision, b boolean, t text, v varchar(10), j jsonb, js json, raw bytea,
                    ts timestamptz, local timestamp, d date, tm time, u uuid, missing text)
                """)
            try await installLog(client, tables: ["kinds"], logger: logger)
            try await client.query("""
                INSERT INTO kinds VALUES (1, -5, 3, 1.5, 0.1, 0.5, 'NaN', true, 'tëxt "q"', 'abc', '{"b": 1, "a": [1, 2]}',
                    '{"b":1,"a":2}', '\\x0102ff', '2024-01-02 03:04:05.6789+02', '2024-01-02 03:04:05.6789', '2024-01-02',
                    '12:34:56.789', '6ba7b810-9dad-11d1-80b4-00c04fd430c8', NULL)
                """)
            let batch = try await PostgresFeedReader().changes(after: 0, collections: nil, limit: 10, maxBytes: 1 << 20, on: client, logger: logger)
            let table = try await client.withConnection { try await PostgresTable.read("kinds", on: $0, logger: logger) }
            guard let table, let event = batch.events.first else { throw ChildProcessError("no table or no event") }
            let select = "SELECT \(PostgresRowJSON.objectExpression(table, row: "k"))::text FROM kinds k"
            var selected = ""
            for try await row in try await client.query(PostgresQuery(unsafeSQL: select)).decode(String.self) { selected = row }
            return (try EventShape(event).item, selected)
        }
        let expected = #"{"id":1,"i":-5,"s":3,"n":1.50,"f":0.1,"r":0.5,"nan":null,"b":true,"t":"tëxt \"q\"","v":"abc","#
            + #""j":{"a": [1, 2], "b": 1},"js":{"b":1,"a":2},"raw":"AQL/","ts":"2024-01-02T01:04:05.678Z","#
            + #""local":"2024-01-02T03:04:05.678Z","d":"2024-01-02","tm":"12:34:56.789","#
            + #""u":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","missing":null}"#
        #expect(logged == expected)
        #expect(selected == expected)
    }

    @Test func aBytesKeyIsItsBase64InTheEvent() async throws {
        let database = try await freshDatabase()
        let id = try await withClient(database) { client in
            try await client.query("CREATE TABLE blobs (id bytea PRIMARY KEY)")
            try await installLog(client, tables: ["blobs"], logger: logger)
            try await client.query("INSERT INTO blobs VALUES ('\\x0102ff')")
            let batch = try await PostgresFeedReader().changes(after: 0, collections: nil, limit: 10, maxBytes: 1 << 20, on: client, logger: logger)
            guard let event = batch.events.first else { throw ChildProcessError("no event") }
            return try EventShape(event).id
        }
        #expect(id == "AQL/")
    }
}
