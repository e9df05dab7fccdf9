// `or`, `and` and `not` groups against an oracle made of plain REST requests. For each condition
// the oracle asks two plain listings, `column=op.value` (the rows where it is true) and
// `column=not.op.value` (where it is false; a row in neither is NULL, as SQL has it), and combines
// them with three-valued logic: OR is true where a member is true and false where all are false,
// AND the converse, NOT swaps the two. Random data, random nested groups, many seeds; a failure
// names its seed and query.

import FeedbaseTestSupport
import Foundation
import Testing

/// Conditions as a group writes them (`column.op.value`); the top-level parameter is the same
/// with `=` after the column. Values hold no `,`, `(`, `)`: quoting is tested on its own.
private let conditions: [(column: String, condition: String)] = [
    ("priority", "gt.2"), ("priority", "is.null"), ("priority", "in.(1,5)"), ("done", "is.true"), ("done", "eq.false"),
    ("title", "like.*a*"), ("title", "eq.beta"), ("title", "ilike.G*"), ("project_id", "in.(1,3)"), ("project_id", "neq.2"),
    ("estimate", "lt.2.5"), ("estimate", "gte.1"), ("due", "lt.2026-06-01T00:00:00Z"), ("due", "is.null"), ("id", "lte.20"),
]

private indirect enum Node {
    case condition(Int, negated: Bool)
    case group(any: Bool, negated: Bool, [Node])

    /// As a member of a group: `column.[not.]op.value` or `[not.]or(...)`.
    var member: String {
        switch self {
        case .condition(let index, let negated):
            conditions[index].column + "." + (negated ? "not." : "") + conditions[index].condition
        case .group(let any, let negated, let members):
            (negated ? "not." : "") + (any ? "or" : "and") + "(" + members.map(\.member).joined(separator: ",") + ")"
        }
    }

    /// The rows where it is true and where it is false, from the conditions' own sets.
    func evaluate(_ sets: [(true: Set<Int>, false: Set<Int>)], all: Set<Int>) -> (true: Set<Int>, false: Set<Int>) {
        switch self {
        case .condition(let index, let negated):
            return negated ? (sets[index].false, sets[index].true) : sets[index]
        case .group(let any, let negated, let members):
            let results = members.map { $0.evaluate(sets, all: all) }
            let unionTrue = results.reduce(Set<Int>()) { $0.union($1.true) }
            let unionFalse = results.reduce(Set<Int>()) { $0.union($1.false) }
            let bothTrue = results.reduce(all) { $0.intersection($1.true) }
            let bothFalse = results.reduce(all) { $0.intersection($1.false) }
            let result = any ? (unionTrue, bothFalse) : (bothTrue, unionFalse)
            return negated ? (result.1, result.0) : result
        }
    }
}

private func randomNode(_ random: inout SeededGenerator, depth: Int) -> Node {
    if depth > 0 && (depth >= 3 || Int.random(in: 0..<3, using: &random) > 0) {
        return .condition(Int.random(in: 0..<conditions.count, using: &random), negated: Int.random(in: 0..<4, using: &random) == 0)
    }
    let members = (0..<Int.random(in: 1...4, using: &random)).map { _ in randomNode(&random, depth: depth + 1) }
    return .group(any: Bool.random(using: &random), negated: Int.random(in: 0..<3, using: &random) == 0, members)
}

@Suite struct LogicTests {
    @Test(arguments: Engine.available, 1...12)
    func groupsSelectWhatTheirConditionsPlainListingsSay(engine: Engine, seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        try await withServer(engine) { server in
            for name in ["one", "two", "three"] { _ = try await server.request("POST", "/projects", json: #"{"name":"\#(name)"}"#) }
            let titles = ["alpha", "beta", "Gamma", "delta", "kilo", "echo"]
            var bodies: [String] = []
            for _ in 0..<30 {
                let priority = Int.random(in: 0...5, using: &random)
                let estimate = [nil, 0.5, 1, 2.5, 4].randomElement(using: &random)!
                let due = [nil, "2026-01-15T09:00:00Z", "2026-06-01T00:00:00Z", "2026-09-30T18:30:00Z"].randomElement(using: &random)!
                bodies.append(
                    #"{"project_id":\#(Int.random(in: 1...3, using: &random)),"title":"\#(titles.randomElement(using: &random)!)","#
                        + #""done":\#(Bool.random(using: &random)),"priority":\#(priority == 0 ? "null" : String(priority)),"#
                        + #""estimate":\#(estimate.map { String($0) } ?? "null"),"due":\#(due.map { "\"\($0)\"" } ?? "null")}"#)
            }
            #expect(try await server.request("POST", "/tasks", json: "[" + bodies.joined(separator: ",") + "]").status == 201)

            func ids(_ query: String) async throws -> [Int] {
                let response = try await server.request("GET", "/tasks?select=id&order=id&limit=1000&" + query)
                #expect(response.status == 200, "seed \(seed): \(query): \(String(decoding: response.body, as: UTF8.self))")
                return try array(response).compactMap { $0["id"] as? Int }
            }
            let all = Set(try await ids(""))
            var sets: [(true: Set<Int>, false: Set<Int>)] = []
            for (column, condition) in conditions {
                sets.append((Set(try await ids("\(column)=\(condition)")), Set(try await ids("\(column)=not.\(condition)"))))
            }

            for round in 0..<15 {
                guard case .group(let any, let negated, let members) = randomNode(&random, depth: 0) else { continue }
                let parameter = (negated ? "not." : "") + (any ? "or" : "and")
                var query = parameter + "=(" + members.map(\.member).joined(separator: ",") + ")"
                var expected = Node.group(any: any, negated: negated, members).evaluate(sets, all: all).true
                // Half the time ANDed with a plain filter as well.
                if Bool.random(using: &random) {
                    let index = Int.random(in: 0..<conditions.count, using: &random)
                    query += "&\(conditions[index].column)=\(conditions[index].condition)"
                    expected.formIntersection(sets[index].true)
                }
                let context = "seed \(seed) round \(round): \(query)"
                #expect(try await ids(query) == expected.sorted(), "\(context)")
                // The count agrees, and so do pages walked with their cursors.
                let counted = try await server.request("GET", "/tasks?select=id&limit=4&" + query, headers: [("Prefer", "count=exact")])
                #expect(counted.header("Content-Range")?.hasSuffix("/\(expected.count)") == true, "\(context): \(counted.header("Content-Range") ?? "none")")
                var walked: [Int] = []
                var target: String? = "/tasks?select=id&order=priority.desc,id&limit=4&" + query
                for _ in 0..<40 {
                    guard let next = target else { break }
                    let page = try await server.request("GET", next)
                    walked += try array(page).compactMap { $0["id"] as? Int }
                    target = page.header("Link").flatMap { link in
                        guard let start = link.firstIndex(of: "<"), let end = link.firstIndex(of: ">") else { return nil }
                        return String(link[link.index(after: start)..<end])
                    }
                }
                #expect(walked.sorted() == expected.sorted() && Set(walked).count == walked.count, "\(context): pages \(walked)")
            }
        }
    }

    @Test(arguments: Engine.available) func quotedValuesAndErrorsNameTheParameter(engine: Engine) async throws {
        try await withServer(engine) { server in
            _ = try await server.request("POST", "/projects", json: #"{"name":"p"}"#)
            for title in ["a, b", "(x)", #"say "hi""#, "plain"] {
                let body = #"{"project_id":1,"title":"\#(title.replacingOccurrences(of: "\"", with: "\\\""))"}"#
                #expect(try await server.request("POST", "/tasks", json: body).status == 201)
            }
            // Quoted values may hold commas, parentheses and escaped quotes.
            let quoted = try await server.request("GET", "/tasks?select=title&order=id&or=(title.eq.%22a,%20b%22,title.eq.%22(x)%22,title.eq.%22say%20%5C%22hi%5C%22%22)")
            #expect(try array(quoted).compactMap { $0["title"] as? String } == ["a, b", "(x)", #"say "hi""#])
            let listed = try await server.request("GET", "/tasks?select=title&or=(title.in.(%22a,%20b%22,plain))&order=id")
            #expect(try array(listed).compactMap { $0["title"] as? String } == ["a, b", "plain"])

            for (query, detail) in [
                ("or=(nope.eq.1)", "nope: tasks has no column 'nope'"),
                ("and=(priority.gt.x)", "priority: 'x' is not an integer"),
                ("not.or=(id.eq.1", "expected conditions in parentheses"),
                ("or=(id.eq.1,)", "an empty condition"),
                ("or=(id.eq.1,or(id.eq.2)", "unbalanced"),
                ("or=(id.zz.1)", "id: expected an operator"),
                ("or=(or(or(or(or(or(or(or(or(id.eq.1)))))))))", "nested deeper than 8"),
            ] {
                let response = try await server.request("GET", "/tasks?" + query)
                let text = String(decoding: response.body, as: UTF8.self)
                #expect(response.status == 400 && text.contains(detail), "\(query): \(text)")
                let parameter = String(query.prefix { $0 != "=" })
                #expect(text.contains(#""parameter":"\#(parameter)""#), "\(query): \(text)")
            }
            // Limits: 5 groups per parameter, 200 conditions in all (groups' included).
            let six = Array(repeating: "or=(id.eq.1)", count: 6).joined(separator: "&")
            let tooManyGroups = try await server.request("GET", "/tasks?" + six)
            #expect(tooManyGroups.status == 400 && tooManyGroups.text.contains("more than 5 groups"), "\(tooManyGroups.text)")
            let wide = "or=(" + Array(repeating: "id.eq.1", count: 201).joined(separator: ",") + ")"
            let tooManyConditions = try await server.request("GET", "/tasks?" + wide)
            #expect(tooManyConditions.status == 400 && tooManyConditions.text.contains("the limit is 200"), "\(tooManyConditions.text)")
            let fits = try await server.request("GET", "/tasks?or=(" + Array(repeating: "id.eq.1", count: 200).joined(separator: ",") + ")")
            #expect(fits.status == 200, "\(fits.text)")
            // A band refuses the same mistakes with the same words.
            let band = try await server.request("GET", "/_changes/tasks?or=(nope.eq.1)&wait=0")
            #expect(band.status == 400 && String(decoding: band.body, as: UTF8.self).contains("nope: tasks has no column 'nope'"))
        }
    }
}
