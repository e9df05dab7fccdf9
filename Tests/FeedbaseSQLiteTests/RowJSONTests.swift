// Rows as JSON both ways through the real store: SQLite builds every representation, and every
// request body is checked against the schema with JSON pointers naming the bad fields.

import Foundation
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

private let itemsSQL = """
    CREATE TABLE owners (id TEXT PRIMARY KEY, name TEXT);
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        flag BOOLEAN,
        count INTEGER,
        doc JSON,
        at DATETIME,
        day DATE,
        clock TIME,
        ratio REAL,
        data BLOB,
        name TEXT,
        required TEXT NOT NULL,
        fallback TEXT NOT NULL DEFAULT 'x',
        owner_id TEXT REFERENCES owners(id),
        positive INTEGER CHECK (positive > 0),
        uniq TEXT UNIQUE,
        doubled INTEGER GENERATED ALWAYS AS (count * 2) VIRTUAL
    );
    """

private func text(_ item: Item) -> String { String(decoding: item.json, as: UTF8.self) }
private func bytes(_ json: String) -> [UInt8] { Array(json.utf8) }

@Suite struct RowJSONTests {
    let directory: TemporaryDirectory
    let store: SQLiteStore

    init() throws {
        directory = try TemporaryDirectory()
        store = try openStore(directory, itemsSQL)
    }

    func create(_ json: String, in collection: String = "items") async throws -> String {
        text(try await store.createOne(in: collection, body: bytes(json)))
    }

    func failure(_ body: [UInt8], in collection: String = "items") async -> StoreError? {
        do {
            _ = try await store.createOne(in: collection, body: body)
            return nil
        } catch {
            return error as? StoreError
        }
    }

    func rowCount(_ table: String) async throws -> Int64 {
        try await store.database.read { try $0.scalarInt("SELECT count(*) FROM \(table)") ?? -1 }
    }

    @Test func everyTypeRoundTripsAsJSONBuiltBySQLite() async throws {
        let created = try await create("""
            {"flag":true,"count":21,"doc":{"a":[1,"x",null],"b":{"c":false}},"at":"2026-11-25T10:00:00.5+02:00",
             "day":"2024-02-29","clock":"23:59:59.123","ratio":1.5,"data":"AAEC/w==",
             "name":"żółć \\"quoted\\"\\n\\\\u0000end","required":"r"}
            """)
        let expected = """
            {"id":1,"flag":true,"count":21,"doc":{"a":[1,"x",null],"b":{"c":false}},"at":"2026-11-25T08:00:00.500Z",\
            "day":"2024-02-29","clock":"23:59:59.123","ratio":1.5,"data":"AAEC/w==",\
            "name":"żółć \\"quoted\\"\\n\\\\u0000end","required":"r","fallback":"x","owner_id":null,"positive":null,\
            "uniq":null,"doubled":42}
            """
        #expect(created == expected)
        let read = try #require(try await store.item(in: "items", id: "1"))
        #expect(text(read) == expected)
        #expect(read.id == "1")
        // The bytes are stored as typed SQL values, not as the JSON text.
        let stored = try await store.database.read { connection in
            try connection.query("SELECT typeof(flag), flag, typeof(data), length(data), at FROM items") {
                [$0.text(0), $0.text(1), $0.text(2), $0.text(3), $0.text(4)]
            }
        }
        #expect(stored == [["integer", "1", "blob", "4", "2026-11-25T08:00:00.500Z"]])
    }

    @Test func nullsFalseAndIntegerLimits() async throws {
        let low = try await create(#"{"flag":false,"count":-9223372036854775808,"required":"a","name":null,"doc":null}"#)
        #expect(low.contains(#""flag":false,"count":-9223372036854775808,"doc":null"#))
        #expect(low.contains(#""name":null"#))
        let high = try await create(#"{"count":9223372036854775807,"ratio":-2,"required":"b","data":""}"#)
        #expect(high.contains(#""count":9223372036854775807"#))
        #expect(high.contains(#""ratio":-2.0"#) || high.contains(#""ratio":-2"#))
        #expect(high.contains(#""data":"""#))
        // 5.0 is an integer in JSON.
        #expect(try await create(#"{"count":5.0,"required":"c"}"#).contains(#""count":5,"#))
    }

    @Test func jsonColumnsHoldAnyValue() async throws {
        let cases = [
            (#"{"k":[1,2,{"x":"y"}]}"#, #"{"k":[1,2,{"x":"y"}]}"#), ("[]", "[]"), (#""text""#, #""text""#),
            ("12", "12"), ("-1.25", "-1.25"), ("true", "true"), ("false", "false"),
        ]
        for (input, output) in cases {
            let created = try await create(#"{"required":"r","doc":\#(input)}"#)
            #expect(created.contains(#""doc":\#(output),"#), "\(input) → \(created)")
        }
    }

    @Test func textKeysAreGeneratedTimeOrderedOrTakenFromTheBody() async throws {
        let first = try await store.createOne(in: "owners", body: bytes(#"{"name":"a"}"#))
        let second = try await store.createOne(in: "owners", body: bytes(#"{"name":"b","id":null}"#))
        let chosen = try await store.createOne(in: "owners", body: bytes(#"{"id":"my-id","name":"c"}"#))
        #expect(first.id.count == 36 && first.id < second.id)
        #expect(text(first) == #"{"id":"\#(first.id)","name":"a"}"#)
        #expect(chosen.id == "my-id")
        #expect(try await store.item(in: "owners", id: "my-id") == chosen)
        #expect(try await store.item(in: "owners", id: "nobody") == nil)
        #expect(try await store.item(in: "items", id: "not-a-number") == nil)
    }

    @Test(arguments: [
        (#"{"required":"r","nope":1}"#, StoreErrorKind.malformed, "/nope", "unknown field"),
        (#"{"required":"r","required":"s"}"#, .malformed, "/required", "duplicate field"),
        (#"{"required":"r","a/b~c":1}"#, .malformed, "/a~1b~0c", "unknown field"),
        (#"{"required":"r","flag":1}"#, .invalid, "/flag", "expected a boolean, got a number"),
        (#"{"required":"r","count":99999999999999999999}"#, .invalid, "/count", "out of range"),
        (#"{"required":"r","count":1.5}"#, .invalid, "/count", "expected an integer"),
        (#"{"required":"r","count":"1"}"#, .invalid, "/count", "expected an integer, got a string"),
        (#"{"required":"r","ratio":"x"}"#, .invalid, "/ratio", "expected a number"),
        (#"{"required":"r","ratio":1e400}"#, .invalid, "/ratio", "out of range"),
        (#"{"required":"r","at":"2026-02-30T00:00:00Z"}"#, .invalid, "/at", "RFC 3339 date-time"),
        (#"{"required":"r","at":"2026-02-03"}"#, .invalid, "/at", "RFC 3339 date-time"),
        (#"{"required":"r","day":"2026-1-1"}"#, .invalid, "/day", "full-date"),
        (#"{"required":"r","clock":"25:00:00"}"#, .invalid, "/clock", "HH:MM:SS"),
        (#"{"required":"r","data":"not base64!"}"#, .invalid, "/data", "base64"),
        (#"{"required":"r","name":7}"#, .invalid, "/name", "expected a string, got a number"),
        (#"{}"#, .invalid, "/required", "required"),
        (#"{"required":null}"#, .invalid, "/required", "must not be null"),
        (#"{"required":"r","doubled":1}"#, .invalid, "/doubled", "read-only"),
    ])
    func eachValidationErrorNamesItsPointer(body: String, kind: StoreErrorKind, pointer: String, detail: String) async throws {
        let error = try #require(await failure(bytes(body)))
        #expect(error.kind == kind)
        let violation = try #require(error.violations.first { $0.pointer == pointer }, "\(error)")
        #expect(violation.detail.contains(detail), "\(violation)")
        #expect(try await rowCount("items") == 0)
    }

    @Test func allProblemsOfABodyAreReportedTogether() async throws {
        let error = try #require(await failure(bytes(#"{"count":"x","day":"y"}"#)))
        #expect(error.violations.map(\.pointer) == ["/count", "/day", "/required"])
    }

    @Test func malformedBodiesAreRejectedWholeAndTheStoreGoesOn() async throws {
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000) + Array(repeating: UInt8(ascii: "]"), count: 100_000)
        let bodies: [([UInt8], String)] = [
            (bytes("[1]"), "some items of the array are not acceptable"),
            (bytes("\"text\""), "must be a JSON object or an array of objects"),
            (bytes(#"{"required":"#), "not valid JSON"),
            (bytes(#"{"required":"r",}"#), "not valid JSON"),
            (bytes(""), "not valid JSON"),
            ([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D], "not valid UTF-8"),
            (bytes(#"{"required":"r"}"#) + [0] + bytes("junk"), "not valid UTF-8"),
            (deep, "not valid JSON"),
            (bytes(#"{"a":"#) + deep + bytes("}"), "not valid JSON"),
        ]
        for (body, message) in bodies {
            let error = try #require(await failure(body))
            #expect(error.kind == .malformed)
            #expect(error.message.contains(message), "\(error)")
        }
        // An escaped NUL would be cut short by SQLite's JSON decoder, so it is refused, not truncated.
        let nul = try #require(await failure(bytes(#"{"required":"a\u0000b"}"#)))
        #expect(nul.kind == .invalid && nul.violations.first?.detail.contains("u0000") == true)
        #expect(nul.violations.map(\.pointer) == ["/required"])
        #expect(try await create(#"{"required":"still serving"}"#).contains(#""id":1,"#))
    }

    @Test func constraintsEnforcedBySQLiteAreClassifiedAndUndone() async throws {
        _ = try await create(#"{"required":"r","uniq":"u"}"#)
        let duplicate = try #require(await failure(bytes(#"{"required":"r","uniq":"u"}"#)))
        #expect(duplicate.kind == .conflict && duplicate.columns == ["uniq"])
        let orphan = try #require(await failure(bytes(#"{"required":"r","owner_id":"nobody"}"#)))
        // A reference to no item is a problem of the body, named by its pointer, like the others
        // found before the write (docs/API.md: every problem at once).
        #expect(orphan.kind == .invalid && orphan.violations.map(\.pointer) == ["/owner_id"], "\(orphan)")
        let negative = try #require(await failure(bytes(#"{"required":"r","positive":-1}"#)))
        #expect(negative.kind == .constraint)
        let unknown = try #require(await failure(bytes("{}"), in: "nothing"))
        #expect(unknown.kind == .notFound)
        #expect(try await rowCount("items") == 1)
    }

    @Test func concurrentWritesShareCommitsAndFailAlone() async throws {
        let store = self.store
        let results = await withTaskGroup(of: Result<Item, StoreError>.self) { group in
            for index in 0..<300 {
                let body = index % 3 == 0 ? #"{"required":null}"# : #"{"required":"w\#(index)","count":\#(index)}"#
                group.addTask {
                    do { return .success(try await store.createOne(in: "items", body: bytes(body))) } catch {
                        return .failure(error as? StoreError ?? StoreError(.internal, "\(error)"))
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let created = results.compactMap { try? $0.get() }
        #expect(created.count == 200)
        #expect(Set(created.map(\.id)).count == 200)
        #expect(results.allSatisfy { result in
            if case .failure(let error) = result { return error.kind == .invalid }
            return true
        })
        #expect(try await rowCount("items") == 200)
    }

    @Test func rowsWiderThanOneJSONObjectCallKeepEveryColumnInOrder() async throws {
        let wide = try TemporaryDirectory()
        let columns = (1...150).map { "c\($0) INTEGER" }.joined(separator: ", ")
        let store = try openStore(wide, "CREATE TABLE wide (id INTEGER PRIMARY KEY, \(columns), \"odd \"\"name\"\"\" TEXT);")
        let body = "{" + (1...150).map { "\"c\($0)\":\($0)" }.joined(separator: ",") + #","odd \"name\"":"q"}"#
        let item = try await store.createOne(in: "wide", body: bytes(body))
        let expected = #"{"id":1,"# + (1...150).map { "\"c\($0)\":\($0)" }.joined(separator: ",") + #","odd \"name\"":"q"}"#
        #expect(text(item) == expected)
        await store.close()
    }

    /// The change-log triggers of a table of 600 columns stay within SQLite's expression depth
    /// (1,000): they test every column for a BLOB (another program's), and the row a write with
    /// one logs reads back with its `{"base64": …}`.
    @Test func aWideTableGetsTriggersThatLogABLOBInAnyColumn() async throws {
        let directory = try TemporaryDirectory()
        let columns = (1...600).map { "c\($0) INTEGER" }.joined(separator: ", ")
        let store = try openStore(directory, "CREATE TABLE wide (id INTEGER PRIMARY KEY, \(columns));")
        let writer = try Connection(path: directory.file("store.sqlite"))
        try writer.execute("INSERT INTO wide (id, c1) VALUES (1, 1); UPDATE wide SET c600 = x'0001', c1 = 2 WHERE id = 1;")
        let batch = try await store.changes(after: 0, collections: nil, limit: 10, maxBytes: 1 << 20)
        #expect(batch.events.count == 2)
        let update = batch.events.last.map { String(decoding: $0.json, as: UTF8.self) } ?? ""
        #expect(update.contains(#""c1":2,"#) && update.contains(#""c600":{"base64":"AAE="}}"#), "\(update)")
        await store.close()
    }
}
