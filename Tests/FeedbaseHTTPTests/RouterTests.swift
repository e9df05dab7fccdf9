// The router on its own: literal over parameter precedence with backtracking, 405 with the
// allowed methods, HEAD through GET, percent-decoded segments, and query-string parsing.

import FeedbaseModel
import FeedbaseSQLite
import NIOHTTP1
import Testing

@testable import FeedbaseHTTP

@Suite struct RouterTests {
    let router: Router<String>

    init() throws {
        var router = Router<String>()
        try router.add(.GET, "/", "index")
        try router.add(.GET, "/_health", "health")
        try router.add(.GET, "/tasks", "list")
        try router.add(.POST, "/tasks", "create")
        try router.add(.GET, "/tasks/:id", "read")
        try router.add(.DELETE, "/tasks/:id", "delete")
        try router.add(.GET, "/tasks/special", "special")
        try router.add(.GET, "/tasks/:id/comments", "comments")
        try router.add(.GET, [.literal("a/b")], "slash")
        self.router = router
    }

    func resolve(_ method: HTTPMethod, _ path: String) -> String {
        guard let segments = Router<String>.segments(of: path) else { return "bad path" }
        switch router.match(method, segments) {
        case .found(let handler, let parameters):
            return parameters.isEmpty ? handler : handler + " " + parameters.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ")
        case .methodNotAllowed(let allow):
            return "405 " + allow.map(\.rawValue).joined(separator: ",")
        case .notFound:
            return "404"
        }
    }

    @Test func literalsWinOverParametersAndParametersBacktrack() {
        #expect(resolve(.GET, "/") == "index")
        #expect(resolve(.GET, "/tasks") == "list")
        #expect(resolve(.GET, "/tasks/") == "list")
        #expect(resolve(.GET, "/tasks/special") == "special")
        #expect(resolve(.GET, "/tasks/42") == "read id=42")
        #expect(resolve(.GET, "/tasks/special/comments") == "comments id=special")
        #expect(resolve(.GET, "/tasks/42/comments") == "comments id=42")
        #expect(resolve(.GET, "/tasks/42/other") == "404")
        #expect(resolve(.GET, "/projects") == "404")
        #expect(resolve(.GET, "/_health") == "health")
    }

    /// One segment captured under two names would hand one route its parameter under the
    /// other's name; the second registration is refused instead.
    @Test func aParameterCapturedUnderTwoNamesIsAConflict() throws {
        var router = Router<String>()
        try router.add(.GET, "/tasks/:id", "read")
        try router.add(.DELETE, "/tasks/:id", "delete")  // the same name again is fine
        #expect(throws: Router<String>.Conflict.self) { try router.add(.GET, "/tasks/:key/comments", "comments") }
        #expect(throws: Router<String>.Conflict.self) { try router.add(.PUT, [.literal("tasks"), .parameter("key")], "replace") }
        // The refused routes left nothing behind: the first route still names its parameter `id`.
        guard case .found(let handler, let parameters) = router.match(.GET, ["tasks", "7"]) else {
            Issue.record("GET /tasks/7 did not match")
            return
        }
        #expect(handler == "read" && parameters == ["id": "7"])
        if case .notFound = router.match(.GET, ["tasks", "7", "comments"]) {} else { Issue.record("a refused route matched") }
    }

    @Test func segmentsArePercentDecodedAfterSplitting() {
        #expect(resolve(.GET, "/tasks/a%2Fb") == "read id=a/b")
        #expect(resolve(.GET, "/tasks/caf%C3%A9%20x+y") == "read id=café x+y")
        #expect(resolve(.GET, "/a%2Fb") == "slash")
        #expect(resolve(.GET, "/a/b") == "404")
        #expect(resolve(.GET, "/tasks/%zz") == "bad path")
        #expect(resolve(.GET, "/tasks/%FF") == "bad path")
        // A combining mark right after `/` or `?` stays in what follows it.
        #expect(resolve(.GET, "/tasks/\u{301}x") == "read id=\u{301}x")
        #expect(Request(method: .GET, uri: "/tasks?\u{301}x=1", headers: [:], body: [], requestID: "").query == "\u{301}x=1")
        #expect(Request(method: .GET, uri: "/tasks?\u{301}x=1", headers: [:], body: [], requestID: "").path == "/tasks")
    }

    @Test func wrongMethodListsTheAllowedOnesAndHeadFollowsGet() {
        #expect(resolve(.PUT, "/tasks") == "405 GET,HEAD,POST")
        #expect(resolve(.POST, "/tasks/1") == "405 DELETE,GET,HEAD")
        #expect(resolve(.HEAD, "/tasks/1") == "read id=1")
        #expect(resolve(.POST, "/nowhere") == "404")
    }

    @Test func filtersParseWithNegationListsAndQuotes() throws {
        let query = try QueryParameters.listQuery(QueryParameters.pairs(
            "done=is.false&priority=not.in.(1,2)&title=in.(a,%22b,c%22,%22say%20%5C%22hi%5C%22%22)&order=priority.desc,id&select=id,title&limit=5&offset=2"))
        #expect(query.filters == [
            Filter(column: "done", op: .is, operand: .false),
            Filter(column: "priority", op: .in, negated: true, operand: .list(["1", "2"])),
            Filter(column: "title", op: .in, operand: .list(["a", "b,c", "say \"hi\""])),
        ])
        #expect(query.order == [Ordering(column: "priority", descending: true), Ordering(column: "id")])
        #expect(query.select == ["id", "title"] && query.limit == 5 && query.offset == 2)
        // Form encoding: `+` is a space, `%2B` a plus, in names and values alike.
        #expect(try QueryParameters.listQuery(QueryParameters.pairs("due=gt.2026-01-01T00:00:00%2B02:00&my+title=eq.a+b")).filters
            == [Filter(column: "due", op: .gt, operand: .value("2026-01-01T00:00:00+02:00")),
                Filter(column: "my title", op: .eq, operand: .value("a b"))])
    }

    @Test func delimitersAreFoundAmongScalarsNotGraphemes() throws {
        // U+0301 (combining acute) fuses with the character before it into one grapheme: a
        // delimiter before it must still delimit, and the mark belongs to what follows.
        let query = try QueryParameters.listQuery(QueryParameters.pairs(
            "title=eq.\u{301}x&body=in.(a,\u{301}b,%22c,\u{301}d%22)&select=id,\u{301}x&order=\u{301}x.desc"))
        #expect(query.filters == [
            Filter(column: "title", op: .eq, operand: .value("\u{301}x")),
            Filter(column: "body", op: .in, operand: .list(["a", "\u{301}b", "c,\u{301}d"])),
        ])
        #expect(query.select == ["id", "\u{301}x"])
        #expect(query.order == [Ordering(column: "\u{301}x", descending: true)])
    }

    @Test(arguments: [
        ("limit=1001", "limit"), ("limit=-1", "limit"), ("limit=x", "limit"), ("offset=1.5", "offset"),
        ("title=equals.x", "title"), ("title=eq", "title"), ("title=in.(a", "title"), ("title=in.(\"a\"b)", "title"),
        ("done=is.maybe", "done"), ("order=", "order"), ("select=a,,b", "select"), ("limit=1&limit=2", "limit"),
    ])
    func badParametersAreNamed(query: String, parameter: String) {
        #expect(throws: Problem.self) { try QueryParameters.listQuery(QueryParameters.pairs(Substring(query))) }
        do {
            _ = try QueryParameters.listQuery(QueryParameters.pairs(Substring(query)))
        } catch {
            #expect(error.errors.first?.parameter == parameter)
        }
    }
}
