// The Swift body reader (JSONBody, through RequestBody) against SQLite's JSON functions, the way
// bodies were read before: for random bodies, valid and broken, both give the same error or the
// same type and the same fields (keys, types, atoms, JSON text), down to the nested objects that
// bulk creates and batches read again.

import FeedbaseTestSupport
import Testing

import FeedbaseModel
@testable import FeedbaseSQLite

@Suite struct JSONBodyOracleTests {
    /// The Swift reading of a body, with the members of its containers read again (as a batch
    /// reads an operation's body, and a bulk create each item) down to `depth` levels.
    static func swiftReading(_ body: [UInt8]) -> BodyReading {
        BodyReading {
            let type = try RequestBody.topLevelType(of: body)
            return (type, try nested(RequestBody.members(of: body), depth: 2) { try RequestBody.members(of: $0) })
        }
    }

    static func sqliteReading(_ body: [UInt8], _ oracle: SQLiteBodyOracle) -> BodyReading {
        BodyReading {
            let type = try oracle.topLevelType(of: body)
            return (type, try nested(oracle.members(of: body), depth: 2) { try oracle.members(of: $0) })
        }
    }

    static func nested(_ fields: [BodyField], depth: Int, _ members: ([UInt8]) throws -> [BodyField]) throws -> [BodyField] {
        var all = fields
        guard depth > 0 else { return all }
        for field in fields where field.type == "object" || field.type == "array" {
            for inner in try nested(members(Array(field.json.utf8)), depth: depth - 1, members) {
                var inner = inner
                inner.key = field.key + "/" + inner.key
                all.append(inner)
            }
        }
        return all
    }

    /// Whether SQLite accepted a body that the Swift reader refuses on purpose: a lone surrogate
    /// escape, which SQLite decoded into bytes that are not UTF-8.
    static func isRefusedLoneSurrogate(_ swift: BodyReading, _ sqlite: BodyReading) -> Bool {
        guard case .failure("invalid", _, let violations) = swift, case .success = sqlite else { return false }
        return violations.count == 1 && violations[0].detail.contains("unpaired surrogate")
    }

    @Test(arguments: 0..<40)
    func swiftReaderAgreesWithSQLite(seed: UInt64) throws {
        let oracle = try SQLiteBodyOracle()
        var generator = BodyGenerator(seed: seed)
        var valid = 0
        var refused = 0
        for round in 0..<150 {
            let body = generator.body()
            let swift = Self.swiftReading(body)
            let sqlite = Self.sqliteReading(body, oracle)
            if case .success = sqlite { valid += 1 } else { refused += 1 }
            if Self.isRefusedLoneSurrogate(swift, sqlite) {
                let text = String(decoding: body, as: UTF8.self).lowercased()
                #expect(["d8", "d9", "da", "db", "dc", "dd", "de", "df"].contains { text.contains("\\u" + $0) }, "seed \(seed) round \(round)")
                continue
            }
            #expect(
                swift == sqlite,
                "seed \(seed) round \(round): \(String(decoding: body.prefix(1000), as: UTF8.self).debugDescription) \(body.count) bytes\nswift:  \(swift.short)\nsqlite: \(sqlite.short)"
            )
            if swift != sqlite { return }
        }
        // The generator makes both kinds, in good number.
        #expect(valid > 50 && refused > 30, "seed \(seed): \(valid) valid, \(refused) refused")
    }

    @Test func edgeBodiesAgreeWithSQLite() throws {
        let oracle = try SQLiteBodyOracle()
        var bodies = BodyGenerator.edgeNumbers.map { "[\($0)]" } + BodyGenerator.edgeNumbers
        bodies += [
            "", " ", "{}", "[]", "{ }", "[ ]", "\u{FEFF}{}", "{\"a\":1}\u{0C}", "\u{0B}[1]", "{\"\":1,\"\":2}", "{\"a\":1,}", "[1,]",
            "[01]", "[+1]", "[.5]", "[NaN]", "['a']", "{'a':1}", "[1.]", "[1.e5]", "[-]", "[--1]", "[0x10]", "[truex]", "[true1]",
            "[nul]", "\"\\u0000\"", "{\"a\\u0000\":1}", "[\"a\",{\"b\":[\"\\u0000\"]}]", "{\"a\":\"\\ud83d\\ude00\"}",
            "{\"a\":\"\\uD83D\\uDE00\\u00e9\\u20AC\\/\\b\\f\\n\\r\\t\\\"\\\\\"}", "[\"\\u001f\\u007f\\u0080\\uffff\\ufeff\"]",
            "{\"a\":[1, 2 ,{ \"b\" : \"x y\" } ] }", "[1e999,[-1e999],{\"a\":[1e400]}]", "{\"n\":{\"deep\":[1E+999]}}",
            "[\"\u{7F}é€😀\"]", "[\"\\x\"]", "[\"\\u12\"]", "[\"a\u{01}\"]", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{:1}",
        ]
        for body in bodies.map({ Array($0.utf8) }) + [[0xEF, 0xBB, 0xBF, 0x5B, 0x5D], [0x5B, 0x22, 0xC0, 0x80, 0x22, 0x5D], [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D], [0x5B, 0x31, 0x00, 0x5D]] {
            let swift = Self.swiftReading(body)
            let sqlite = Self.sqliteReading(body, oracle)
            #expect(swift == sqlite, "\(String(decoding: body, as: UTF8.self).debugDescription)\nswift:  \(swift.short)\nsqlite: \(sqlite.short)")
        }
    }

    @Test(arguments: [1, 2, 1998, 1999, 2000, 2001, 2002, 2500])
    func nestingAgreesWithSQLiteAroundTwoThousandLevels(depth: Int) throws {
        let oracle = try SQLiteBodyOracle()
        let shapes = [
            String(repeating: "[", count: depth) + String(repeating: "]", count: depth),
            String(repeating: "{\"a\":", count: depth - 1) + "{}" + String(repeating: "}", count: depth - 1),
            "{\"k\":" + String(repeating: "[1,", count: depth - 1) + "[]" + String(repeating: "]", count: depth - 1) + ",\"z\":1e999}",
            String(repeating: "[{\"x\":", count: depth / 2) + "1e999" + String(repeating: "}]", count: depth / 2),
        ]
        for body in shapes.map({ Array($0.utf8) }) {
            let swift = Self.swiftReading(body)
            let sqlite = Self.sqliteReading(body, oracle)
            #expect(swift == sqlite, "depth \(depth): \(String(decoding: body.prefix(60), as: UTF8.self))…\nswift:  \(swift.short)\nsqlite: \(sqlite.short)")
        }
    }

    @Test func loneSurrogatesAreRefusedWithTheirPointer() throws {
        let cases: [(String, String)] = [
            (#"{"a":"\ud800"}"#, "/a"), (#"{"a":"x\uDC00"}"#, "/a"), (#"{"a":"ok","b":["\ud83dx\ude00"]}"#, "/b/0"),
            (#"[{"t":"\ud800\u0041"}]"#, "/0/t"), (#"{"\udfff":1}"#, "/\u{FFFD}"),
        ]
        for (text, pointer) in cases {
            #expect {
                try RequestBody.topLevelType(of: Array(text.utf8))
            } throws: { error in
                guard let error = error as? StoreError, error.kind == .invalid else { return false }
                return error.violations.map(\.pointer) == [pointer]
            }
        }
        #expect(try RequestBody.topLevelType(of: Array(#"{"a":"\ud83d\ude00"}"#.utf8)) == "object")
    }

    /// The one place the readers part on purpose after validation: a batch's `$ref` reads an item's
    /// JSON (built by SQLite), where a string another program stored with a NUL is `\u0000`.
    /// SQLite's decoder cut the string there; JSONBody copies it whole.
    @Test func escapedNULInStoredJSONIsReadWhole() throws {
        let json = Array(#"{"a":"x\u0000y"}"#.utf8)
        let swift = try RequestBody.members(of: json)
        #expect(swift.map(\.atom) == [.text("x\u{0}y")] && swift.map(\.json) == [#""x\u0000y""#])
        let sqlite = try SQLiteBodyOracle().members(of: json)
        #expect(sqlite.map(\.atom) == [.text("x")] && sqlite.map(\.json) == [#""x""#])
    }

    @Test(arguments: 0..<8)
    func realTextAgreesWithSQLite(seed: UInt64) throws {
        let oracle = try SQLiteBodyOracle()
        var random = SeededGenerator(seed: seed)
        for _ in 0..<2000 {
            let value: Double =
                switch Int.random(in: 0..<5, using: &random) {
                case 0: Double(bitPattern: random.next())
                case 4:
                    // Short decimals at every magnitude: the 15-digit text reads back, or not.
                    Double("\(Int64.random(in: 1...999_999_999_999_999, using: &random))e\(Int.random(in: -340...300, using: &random))") ?? 0
                case 1: Double.random(in: -1e6...1e6, using: &random)
                case 2: Double(Int64.random(in: -1_000_000...1_000_000, using: &random)) / 1000
                default: Double(sign: .plus, exponent: Int.random(in: -1074...1023, using: &random), significand: Double.random(in: 1..<2, using: &random))
                }
            guard value.isFinite else { continue }
            let sqlite = try oracle.realText(value)
            #expect(RealText.text(value) == sqlite, "seed \(seed): \(value) (bits \(value.bitPattern))")
        }
    }
}
