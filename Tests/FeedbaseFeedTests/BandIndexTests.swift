// The hub's band index against brute force: many bands (equality, `in`, ranges, negations,
// several conditions, `in.()`), random creates, updates that move rows between values, and
// deletes; every band subscriber must get exactly the messages that testing every event against
// its band gives. The index only decides which bands are tested, so the oracle is each band's
// own test run on every event (what the messages mean is checked end to end against REST in
// BandTests). Real predicates, compiled by the SQLite store from the REST grammar.

@testable import FeedbaseFeed
import FeedbaseModel
import FeedbaseSQLite
import FeedbaseTestSupport
import Foundation
import Logging
import Testing

@Suite struct BandIndexTests {
    private static func store() throws -> (SQLiteStore, String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-band-index-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/migrations", withIntermediateDirectories: true)
        try "CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL);".write(
            toFile: directory + "/migrations/0001_t.sql", atomically: true, encoding: .utf8)
        var logger = Logger(label: "feedbase-band-index-test")
        logger.logLevel = .critical
        let store = try SQLiteStore(StoreConfiguration(path: directory + "/db.sqlite", migrationsDirectory: directory + "/migrations"), logger: logger)
        return (store, directory)
    }

    /// The few forms this test writes: `col=[not.]op.value`, `col=in.(a,b)`, `col=is.null`.
    private static func filters(_ query: String) -> [Filter] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            var rest = parts[1][...]
            let negated = rest.hasPrefix("not.")
            if negated { rest = rest.dropFirst(4) }
            let dot = rest.firstIndex(of: ".") ?? rest.endIndex
            let op = FilterOperator(rawValue: String(rest[..<dot])) ?? .eq
            let text = String(rest[rest.index(after: dot)...])
            let operand: Filter.Operand
            switch op {
            case .in: operand = .list(text.dropFirst().dropLast().split(separator: ",").map(String.init))
            case .is: operand = .null
            default: operand = .value(text)
            }
            return Filter(column: String(parts[0]), op: op, negated: negated, operand: operand)
        }
    }

    @Test(arguments: 1...30)
    func eachBandGetsWhatTestingEveryEventAgainstItGives(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let (store, directory) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = MemoryLog()
        var logger = Logger(label: "feedbase-band-index-test")
        logger.logLevel = .critical
        let hub = ChangeHub(source: log, settings: FeedSettings(), logger: logger)
        try await hub.start()

        let letters = ["x", "y", "z"]
        func value(_ random: inout SeededGenerator) -> Int { Int.random(in: 1...5, using: &random) }
        var queries: Set<String> = []
        while queries.count < 60 {
            let k = value(&random)
            let queryChoices = [
                "a=eq.\(k)", "a=in.(\(k),\(value(&random)))", "b=eq.\(letters.randomElement(using: &random)!)", "a=gte.\(k)",
                "a=not.eq.\(k)", "c=eq.2", "c=in.(1,2.5)", "a=eq.\(k)&b=in.(x,y)", "a=in.()", "a=is.null", "b=neq.x&a=eq.\(k)",
                "a=in.(\(k),\(value(&random)))&c=eq.\(value(&random))",
            ]
            queries.insert(queryChoices.randomElement(using: &random)!)
        }
        var bands: [(band: Band, sink: RecordingSink)] = []
        for query in queries.sorted() {
            let predicate = try await store.predicate(in: "t", filters: Self.filters(query))
            let band = Band(collection: "t", predicate: predicate, select: Bool.random(using: &random) ? ["id", "a"] : nil, key: query)
            let sink = RecordingSink()
            #expect(await hub.subscribe(sink, since: 0, collections: nil, band: band) == .subscribed(band: sink.band))
            bands.append((band, sink))
        }
        try await waitUntil("every band to be live") { bands.allSatisfy { $0.sink.ready != nil } }

        // Random changes to a few rows, committed in random batches.
        var rows: [Int: String] = [:]
        var nextID = 1
        func randomRow(_ id: Int, _ random: inout SeededGenerator) -> String {
            let a = Int.random(in: 0...5, using: &random)
            let c = [Double?.none, 1.0, 2.0, 2.5].randomElement(using: &random)!
            return #"{"id":\#(id),"a":\#(a == 0 ? "null" : String(a)),"b":"\#(letters.randomElement(using: &random)!)","c":\#(c.map { "\($0)" } ?? "null")}"#
        }
        for _ in 0..<40 {
            var built: [(collection: String, json: (Int64) -> [UInt8], previous: [UInt8]?)] = []
            for _ in 0..<Int.random(in: 1...5, using: &random) {
                let op: String
                let id: Int
                var previous: String?
                if rows.isEmpty || Int.random(in: 0..<4, using: &random) == 0 {
                    (op, id) = ("create", nextID)
                    nextID += 1
                    rows[id] = randomRow(id, &random)
                } else if Int.random(in: 0..<5, using: &random) == 0 {
                    (op, id) = ("delete", rows.keys.sorted().randomElement(using: &random)!)
                } else {
                    (op, id) = ("update", rows.keys.sorted().randomElement(using: &random)!)
                    previous = rows[id]
                    rows[id] = randomRow(id, &random)
                }
                let item = rows[id]!
                if op == "delete" { rows[id] = nil }
                built.append(("t", { seq in Array(#"{"seq":\#(seq),"collection":"t","op":"\#(op)","id":"\#(id)","item":\#(item),"at":"now"}"#.utf8) },
                    previous.map { Array($0.utf8) }))
            }
            log.commit(built: built)
            if Bool.random(using: &random) { await hub.advance() }
        }
        await hub.advance()
        let all = try await log.changes(after: 0, collections: nil, limit: .max, maxBytes: .max).events
        for (band, sink) in bands {
            let expected = all.compactMap { band.message(for: $0, name: sink.band) }
            try await waitUntil("band \(band.key) to get its messages (seed \(seed))") { sink.messages.count >= expected.count }
            let got = sink.messages
            if got != expected {
                let at = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(got.count, expected.count)
                Issue.record("""
                    seed \(seed), band \(band.key): \(got.count) messages for \(expected.count) expected; first difference at \(at): \
                    \(at < got.count ? String(decoding: got[at], as: UTF8.self) : "none") instead of \
                    \(at < expected.count ? String(decoding: expected[at], as: UTF8.self) : "none")
                    """)
            }
        }
        #expect(await hub.bandCount == bands.count)
        for (_, sink) in bands { await hub.unsubscribe(sink) }
        #expect(await hub.bandCount == 0)
        await hub.shutdown()
        await store.close()
    }
}
