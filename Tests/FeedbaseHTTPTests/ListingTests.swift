// End-to-end listings: every filter operator on every column type, order and select, counts,
// and keyset pagination that visits every row exactly once while rows come and go.

import Foundation
import Testing

let everyTypeSchema = """
    CREATE TABLE things (
        id INTEGER PRIMARY KEY,
        flag BOOLEAN,
        count INTEGER,
        ratio REAL,
        name TEXT,
        at DATETIME,
        day DATE,
        clock TIME,
        doc JSON,
        data BLOB
    );
    CREATE INDEX things_count ON things(count);
    """

let things = [
    #"{"flag":true,"count":1,"ratio":0.5,"name":"Apple pie","at":"2026-01-01T10:00:00Z","day":"2026-01-01","clock":"08:00:00","doc":{"k":1},"data":"AAE="}"#,
    #"{"flag":false,"count":2,"ratio":1.5,"name":"apple tart","at":"2026-01-02T10:00:00Z","day":"2026-01-02","clock":"09:30:00","doc":[1,2],"data":"AAI="}"#,
    #"{"flag":true,"count":3,"ratio":2.5,"name":"Banana, split","at":"2026-01-03T10:00:00+02:00","day":"2026-01-03","clock":"12:00:00.5","doc":"text","data":"AAM="}"#,
    #"{"flag":null,"count":null,"ratio":null,"name":null,"at":null,"day":null,"clock":null,"doc":null,"data":null}"#,
    #"{"flag":false,"count":5,"ratio":-1,"name":"100% juice_x","at":"2025-12-31T23:59:59.999Z","day":"2025-12-31","clock":"23:59:59","doc":{"k":2},"data":"AAU="}"#,
]

@Suite struct ListingTests {
    func ids(_ server: TestServer, _ query: String) async throws -> [Int] {
        let response = try await server.request("GET", "/things?" + query)
        guard response.status == 200 else { throw HTTPTestClientError(message: "\(query): \(response.status) \(response.text)") }
        return try array(response).compactMap { $0["id"] as? Int }
    }

    @Test(arguments: [
        // boolean
        ("flag=eq.true", [1, 3]), ("flag=neq.true", [2, 5]), ("flag=is.true", [1, 3]), ("flag=is.false", [2, 5]),
        ("flag=is.null", [4]), ("flag=not.is.null", [1, 2, 3, 5]), ("flag=in.(false)", [2, 5]),
        // integer
        ("count=eq.2", [2]), ("count=neq.2", [1, 3, 5]), ("count=gt.2", [3, 5]), ("count=gte.2", [2, 3, 5]),
        ("count=lt.2", [1]), ("count=lte.2", [1, 2]), ("count=in.(1,5,9)", [1, 5]), ("count=not.in.(1,5)", [2, 3]),
        ("count=is.null", [4]), ("count=not.eq.2", [1, 3, 5]), ("count=in.()", []),
        // number
        ("ratio=gt.0.5", [2, 3]), ("ratio=lt.0", [5]), ("ratio=eq.-1", [5]), ("ratio=gte.1.5", [2, 3]), ("ratio=lte.0.5", [1, 5]),
        // string
        ("name=eq.Apple%20pie", [1]), ("name=like.apple*", [2]), ("name=ilike.apple*", [1, 2]), ("name=like.*%25*", [5]),
        ("name=ilike.*juice_x", [5]), ("name=ilike.*e_x", [5]), ("name=ilike.*ic__x", []), ("name=in.(%22Banana,%20split%22,Apple%20pie)", [1, 3]),
        ("name=gt.B", [2, 3]), ("name=gt.apple", [2]), ("name=not.like.*e*", [3]), ("name=neq.apple%20tart", [1, 3, 5]),
        // date-time: operands are normalised to UTC before comparing
        ("at=gt.2026-01-01T10:00:00Z", [2, 3]), ("at=eq.2026-01-03T08:00:00Z", [3]), ("at=lt.2026-01-01T01:00:00%2B01:00", [5]),
        ("at=gte.2026-01-01T11:00:00%2B01:00", [1, 2, 3]), ("at=like.2026-01-0*", [1, 2, 3]),
        // date and time
        ("day=lt.2026-01-02", [1, 5]), ("day=eq.2026-01-03", [3]), ("clock=gt.09:00:00", [2, 3, 5]), ("clock=lte.08:00:00", [1]),
        // json: compared as normalised JSON text
        ("doc=eq.%7B%22k%22:%201%7D", [1]), ("doc=eq.[1,2]", [2]), ("doc=eq.text", [3]), ("doc=is.null", [4]), ("doc=like.*k*", [1, 5]),
        // blob: base64 operands
        ("data=eq.AAE=", [1]), ("data=in.(AAI=,AAU=)", [2, 5]), ("data=not.is.null", [1, 2, 3, 5]),
        // several filters AND together
        ("flag=eq.true&count=gt.1", [3]), ("count=gte.1&count=lte.3&name=ilike.*a*", [1, 2, 3]),
    ])
    func filters(query: String, expected: [Int]) async throws {
        try await withServer(sql: everyTypeSchema) { server in
            for thing in things {
                let created = try await server.request("POST", "/things", json: thing)
                #expect(created.status == 201)
            }
            let found = try await ids(server, query)
            #expect(found == expected)
        }
    }

    @Test(arguments: [
        ("count=eq.abc", "count"), ("count=gt.1.5", "count"), ("ratio=eq.NaN", "ratio"), ("flag=eq.yes", "flag"),
        ("flag=gt.true", "flag"), ("at=eq.yesterday", "at"), ("day=eq.2026-02-30", "day"), ("clock=eq.25:00:00", "clock"),
        ("data=eq.%%%", "data"), ("data=like.A*", "data"), ("count=like.1*", "count"), ("count=is.true", "count"),
        ("missing=eq.1", "missing"), ("order=missing.asc", "order"), ("order=data", "order"), ("select=id,missing", "select"),
        ("after=WyJ4Il0", "after"), ("limit=1001", "limit"), ("count=between.1", "count"),
        // Cursors that decode to text that is not JSON (`V9G-` is "WѾ"), or to no UTF-8 at all.
        ("after=V9G-", "after"), ("after=_w", "after"), ("after=e30", "after"), ("after=%2Bw", "after"),
    ])
    func badFiltersNameTheirParameter(query: String, parameter: String) async throws {
        try await withServer(sql: everyTypeSchema) { server in
            let response = try await server.request("GET", "/things?" + query)
            #expect(response.status == 400, "\(response.text)")
            let errors = try object(response)["errors"] as? [[String: Any]]
            #expect(errors?.first?["parameter"] as? String == parameter, "\(response.text)")
        }
    }

    @Test func orderSelectLimitOffsetAndCount() async throws {
        try await withServer(sql: everyTypeSchema) { server in
            for thing in things { _ = try await server.request("POST", "/things", json: thing) }
            #expect(try await ids(server, "order=count.desc") == [5, 3, 2, 1, 4])  // NULLs last when descending
            #expect(try await ids(server, "order=count.asc") == [4, 1, 2, 3, 5])
            #expect(try await ids(server, "order=flag.desc,ratio.asc") == [1, 3, 5, 2, 4])
            #expect(try await ids(server, "order=name&limit=2&offset=1") == [5, 1])
            let selected = try await server.request("GET", "/things?select=name,id&limit=1")
            #expect(selected.text == #"[{"name":"Apple pie","id":1}]"#)
            let counted = try await server.request("GET", "/things?flag=is.true", headers: [("Prefer", "count=exact")])
            #expect(counted.header("Content-Range") == "0-1/2")
            let page = try await server.request("GET", "/things?limit=2&offset=2", headers: [("Prefer", "count=exact")])
            #expect(page.header("Content-Range") == "2-3/5")
            let none = try await server.request("GET", "/things?count=gt.100", headers: [("Prefer", "count=exact")])
            #expect(none.header("Content-Range") == "*/0" && none.text == "[]")
            #expect(try await server.request("GET", "/things").header("Content-Range") == nil)
        }
    }

    @Test(arguments: ["", "order=count.desc", "order=name.asc,flag.desc", "order=at.desc&flag=not.is.null"])
    func followingNextLinksVisitsEveryRowExactlyOnceWhileRowsChange(order: String) async throws {
        try await withServer(sql: everyTypeSchema) { server in
            let seed = (0..<400).map { index in
                #"{"count":\#(index % 37),"name":"n\#(index % 11)","flag":\#(index % 3 == 0 ? "null" : index % 2 == 0 ? "true" : "false"),"at":"2026-01-01T00:00:\#(String(format: "%02d", index % 60))Z"}"#
            }
            #expect(try await server.request("POST", "/things", json: "[" + seed.joined(separator: ",") + "]").status == 201)
            let stable = Set(try await ids(server, (order.isEmpty ? "" : order + "&") + "limit=1000"))
            // While a reader pages through, a writer inserts new rows and deletes rows 301...400.
            let writer = Task {
                for index in 0..<100 {
                    _ = try await server.request("POST", "/things", json: #"{"count":\#(index % 37),"name":"new","flag":true,"at":"2026-01-01T00:00:30Z"}"#)
                    _ = try await server.request("DELETE", "/things/\(301 + index)")
                }
            }
            var seen: [Int] = []
            var target = "/things?" + (order.isEmpty ? "" : order + "&") + "limit=17"
            var pages = 0
            while pages < 200 {
                pages += 1
                let response = try await server.request("GET", target)
                #expect(response.status == 200, "\(response.text)")
                seen += try array(response).compactMap { $0["id"] as? Int }
                guard let link = response.header("Link") else { break }
                let start = try #require(link.firstIndex(of: "<"))
                let end = try #require(link.firstIndex(of: ">"))
                target = String(link[link.index(after: start)..<end])
            }
            try await writer.value
            #expect(Set(seen).count == seen.count, "a row was repeated")
            let survivors = stable.filter { $0 <= 300 }
            #expect(survivors.isSubset(of: Set(seen)), "rows present throughout were skipped: \(survivors.subtracting(seen).sorted())")
        }
    }

    /// The offset is the client's, up to Int64.max; with a cursor and a count, the page's start
    /// (rows before the cursor + offset) must not overflow.
    @Test func theLargestOffsetWithACursorAndACountIsAnEmptyPage() async throws {
        try await withServer(sql: everyTypeSchema) { server in
            for thing in things { _ = try await server.request("POST", "/things", json: thing) }
            let first = try await server.request("GET", "/things?limit=2")
            let link = try #require(first.header("Link"))
            let after = try #require(link.split(separator: "after=").last?.split(separator: ">").first)
            let page = try await server.request(
                "GET", "/things?limit=2&after=\(after)&offset=9223372036854775807", headers: [("Prefer", "count=exact")])
            #expect(page.status == 200 && page.text == "[]" && page.header("Content-Range") == "*/5", "\(page.text)")
            let next = try await server.request("GET", "/things?limit=2&after=\(after)&offset=1", headers: [("Prefer", "count=exact")])
            let nextIDs = try array(next).compactMap { $0["id"] as? Int }
            #expect(next.header("Content-Range") == "3-4/5" && nextIDs == [4, 5])
        }
    }

    /// Delimiters are found among Unicode scalars: U+0301 (a combining mark, `%CC%81`) fuses with
    /// the character before it into one grapheme, and must neither hide that delimiter nor turn
    /// a `like` pattern's literal `?` into GLOB's wildcard.
    @Test func aCombiningMarkAfterADelimiterDoesNotChangeTheFilter() async throws {
        try await withServer(sql: everyTypeSchema) { server in
            for name in ["\u{301}x", "?\u{301}y", "a\u{301}y", "b"] {
                let created = try await server.request("POST", "/things", json: #"{"name":"\#(name)"}"#)
                #expect(created.status == 201)
            }
            #expect(try await ids(server, "name=eq.%CC%81x") == [1])
            #expect(try await ids(server, "name=in.(b,%CC%81x)") == [1, 4])
            #expect(try await ids(server, "name=in.(%22%CC%81x%22,b)") == [1, 4])
            #expect(try await ids(server, "name=like.?%CC%81*") == [2])
            #expect(try await ids(server, "name=ilike.?%CC%81*") == [2])
            #expect(try await ids(server, "name=not.eq.%CC%81x") == [2, 3, 4])
        }
    }

    /// Query strings are form-encoded: `+` is a space (in names and values), `%2B` a plus, and
    /// the Link header writes both unambiguously.
    @Test func plusInAQueryStringIsASpace() async throws {
        try await withServer(sql: #"CREATE TABLE notes (id INTEGER PRIMARY KEY, "my col" TEXT, at DATETIME);"#) { server in
            for (text, at) in [("a b", "2026-01-01T10:00:00Z"), ("a+b", "2026-01-02T10:00:00Z"), ("ab", "2026-01-03T10:00:00Z")] {
                #expect(try await server.request("POST", "/notes", json: #"{"my col":"\#(text)","at":"\#(at)"}"#).status == 201)
            }
            let idsOf = { (query: String) async throws -> [Int] in
                let response = try await server.request("GET", "/notes?" + query)
                guard response.status == 200 else { throw HTTPTestClientError(message: "\(query): \(response.text)") }
                return try array(response).compactMap { $0["id"] as? Int }
            }
            #expect(try await idsOf("my+col=eq.a+b") == [1])
            #expect(try await idsOf("my%20col=eq.a%20b") == [1])
            #expect(try await idsOf("my+col=eq.a%2Bb") == [2])
            #expect(try await idsOf("at=gt.2026-01-01+12:00:00%2B01:00") == [2, 3])
            // A plus typed as is becomes a space: the offset no longer parses, and says so.
            let unencoded = try await server.request("GET", "/notes?at=gt.2026-01-01T12:00:00+01:00")
            let errors = try object(unencoded)["errors"] as? [[String: Any]]
            #expect(unencoded.status == 400 && errors?.first?["parameter"] as? String == "at")
            let paged = try await server.request("GET", "/notes?my+col=in.(a+b,a%2Bb)&limit=1")
            #expect(paged.header("Link")?.hasPrefix("</notes?my%20col=in.%28a%20b%2Ca%2Bb%29&limit=1&after=") == true, "\(paged.headers)")
        }
    }
}
