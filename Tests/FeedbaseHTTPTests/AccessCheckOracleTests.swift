// The rules oracle for writes: per seed a random rule `allow read, create, update on notes to
// user [where W] [check C | check *]`, then random writes by its user (a create, a bulk create,
// a PUT of a new id, a PUT or PATCH of a row of their own or of someone else's, batches of
// these) whose rows keep or break W and C in every combination. Each answer and the table after
// it must be what a model of docs/API.md ("Rules") says: a created row meets W and C; an update
// finds its row under W (else 404) and leaves it meeting W and C (`check *`: anywhere), else 403;
// a bulk create or a batch with one refused write writes nothing.

import FeedbaseApp
import FeedbaseHTTP
import FeedbaseTestSupport
import Foundation
import Testing

@Suite struct AccessCheckOracleTests {
    static let sql = """
        CREATE TABLE notes (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,
            shared BOOLEAN NOT NULL DEFAULT 0, level INTEGER NOT NULL DEFAULT 0);
        """

    struct Note: Equatable {
        var owner: String
        var shared: Bool
        var level: Int

        var json: String { #"{"owner":"\#(owner)","title":"t","shared":\#(shared),"level":\#(level)}"# }
    }

    /// Conditions as the rules file writes them and as the model evaluates them for `alice`.
    struct Conditions {
        var text: String
        var admits: @Sendable (Note) -> Bool
    }

    static let wheres: [Conditions?] = [
        nil,
        Conditions(text: "owner=eq.$sub") { $0.owner == "alice" },
        Conditions(text: "owner=eq.$sub&level=lt.3") { $0.owner == "alice" && $0.level < 3 },
        Conditions(text: "level=lt.3") { $0.level < 3 },
    ]
    /// nil: no check; "*": check *.
    static let checks: [Conditions?] = [
        nil,
        Conditions(text: "*") { _ in true },
        Conditions(text: "shared=is.false") { !$0.shared },
        Conditions(text: "level=lt.2") { $0.level < 2 },
        Conditions(text: "owner=eq.$sub") { $0.owner == "alice" },
        Conditions(text: "level=gte.1&shared=is.false") { $0.level >= 1 && !$0.shared },
    ]

    struct Model {
        var `where`: Conditions?
        var check: Conditions?
        var rows: [Int: Note]

        func readable(_ note: Note) -> Bool { `where`?.admits(note) ?? true }

        /// Where a create (or, `update` true, an update) may leave a row.
        func mayLeave(_ note: Note, update: Bool) -> Bool {
            guard let check else { return readable(note) }
            if check.text == "*" { return update || readable(note) }
            return readable(note) && check.admits(note)
        }

        /// The status of one write, applied to `rows` when it succeeds; `created` is the id a
        /// create got (from the answer).
        mutating func apply(_ write: Write, created: Int?) -> Int {
            switch write {
            case .create(let note):
                guard mayLeave(note, update: false) else { return 403 }
                if let created { rows[created] = note }
                return 201
            case .put(let id, let note):
                guard let before = rows[id] else {
                    guard mayLeave(note, update: false) else { return 403 }
                    rows[id] = note
                    return 201
                }
                guard readable(before) else { return 404 }
                guard mayLeave(note, update: true) else { return 403 }
                rows[id] = note
                return 200
            case .patch(let id, let change):
                guard let before = rows[id], readable(before) else { return 404 }
                var after = before
                change.owner.map { after.owner = $0 }
                change.shared.map { after.shared = $0 }
                change.level.map { after.level = $0 }
                guard mayLeave(after, update: true) else { return 403 }
                rows[id] = after
                return 200
            }
        }
    }

    struct Change {
        var owner: String?
        var shared: Bool?
        var level: Int?

        var json: String {
            var members: [String] = []
            owner.map { members.append(#""owner":"\#($0)""#) }
            shared.map { members.append(#""shared":\#($0)"#) }
            level.map { members.append(#""level":\#($0)"#) }
            return "{" + members.joined(separator: ",") + "}"
        }
    }

    enum Write {
        case create(Note)
        case put(Int, Note)
        case patch(Int, Change)

        var batchOperation: String {
            switch self {
            case .create(let note): #"{"op":"create","collection":"notes","body":\#(note.json)}"#
            case .put(let id, let note): #"{"op":"put","collection":"notes","id":\#(id),"body":\#(note.json)}"#
            case .patch(let id, let change): #"{"op":"patch","collection":"notes","id":\#(id),"body":\#(change.json)}"#
            }
        }
    }

    static func randomNote(_ random: inout SeededGenerator) -> Note {
        Note(owner: ["alice", "alice", "bob"].randomElement(using: &random)!, shared: Bool.random(using: &random), level: Int.random(in: 0...4, using: &random))
    }

    static func randomWrite(_ random: inout SeededGenerator, ids: [Int]) -> Write {
        let id = (ids + [900 + Int.random(in: 0...9, using: &random)]).randomElement(using: &random)!
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return .create(randomNote(&random))
        case 1: return .put(id, randomNote(&random))
        default:
            var change = Change()
            repeat {
                if Bool.random(using: &random) { change.owner = ["alice", "bob"].randomElement(using: &random)! }
                if Bool.random(using: &random) { change.shared = Bool.random(using: &random) }
                if Bool.random(using: &random) { change.level = Int.random(in: 0...4, using: &random) }
            } while change.owner == nil && change.shared == nil && change.level == nil
            return .patch(id, change)
        }
    }

    @Test(arguments: 1...24)
    func everyWriteUnderARandomCheckRuleAnswersAsTheModelSays(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed)
        let wherePart = Self.wheres.randomElement(using: &random)!
        let checkPart = Self.checks.randomElement(using: &random)!
        let text = "allow read, create, update on notes to user" + (wherePart.map { " where " + $0.text } ?? "") + (checkPart.map { " check " + $0.text } ?? "")
        let rules = try AccessRules.parse(text + "\nallow * on notes to admin\n", file: "rules.conf")
        let context = "seed \(seed), rule '\(text)'"
        try await withServer(sql: Self.sql, configure: { $0.rules = rules }) { server in
            let alice = try await server.bearer(role: "user", subject: "alice")
            let admin = try await server.bearer(role: "admin")
            var model = Model(where: wherePart, check: checkPart, rows: [:])
            for id in 1...8 {
                let note = Self.randomNote(&random)
                #expect(try await server.request("PUT", "/notes/\(id)", headers: admin, json: note.json).status == 201)
                model.rows[id] = note
            }
            func table() async throws -> [Int: Note] {
                var rows: [Int: Note] = [:]
                for item in try array(try await server.request("GET", "/notes?limit=1000", headers: admin)) {
                    guard let id = item["id"] as? Int, let owner = item["owner"] as? String, let shared = item["shared"] as? Bool,
                        let level = item["level"] as? Int
                    else { throw HTTPTestClientError(message: "\(context): an odd row \(item)") }
                    rows[id] = Note(owner: owner, shared: shared, level: level)
                }
                return rows
            }
            for step in 0..<24 {
                let ids = model.rows.keys.sorted()
                let kind = Int.random(in: 0..<4, using: &random)
                var expected = model
                let answer: HTTPResponse
                let expectedStatus: Int
                let what: String
                if kind == 0 {
                    // A bulk create: all or nothing.
                    let notes = (0..<Int.random(in: 1...3, using: &random)).map { _ in Self.randomNote(&random) }
                    what = "bulk create \(notes)"
                    answer = try await server.request("POST", "/notes", headers: alice, json: "[" + notes.map(\.json).joined(separator: ",") + "]")
                    let created = (try? array(answer))?.compactMap { $0["id"] as? Int } ?? []
                    let statuses = notes.enumerated().map { expected.apply(.create($0.element), created: created.count == notes.count ? created[$0.offset] : nil) }
                    expectedStatus = statuses.first { $0 != 201 } ?? 201
                    if expectedStatus != 201 { expected = model }
                } else if kind == 1 {
                    // A batch: each write in order; the first refusal is the answer, and nothing is written.
                    let writes = (0..<Int.random(in: 1...3, using: &random)).map { _ in Self.randomWrite(&random, ids: ids) }
                    what = "batch \(writes)"
                    answer = try await server.request("POST", "/_batch", headers: alice, json: "[" + writes.map(\.batchOperation).joined(separator: ",") + "]")
                    let results = (try? object(answer))?["results"] as? [[String: Any]] ?? []
                    var status = 200
                    for (index, write) in writes.enumerated() {
                        let created = index < results.count ? (results[index]["body"] as? [String: Any])?["id"] as? Int : nil
                        let one = expected.apply(write, created: created)
                        if one >= 400 { status = one; break }
                    }
                    expectedStatus = status
                    if status != 200 { expected = model }
                } else {
                    let write = Self.randomWrite(&random, ids: ids)
                    what = "\(write)"
                    switch write {
                    case .create(let note): answer = try await server.request("POST", "/notes", headers: alice, json: note.json)
                    case .put(let id, let note): answer = try await server.request("PUT", "/notes/\(id)", headers: alice, json: note.json)
                    case .patch(let id, let change): answer = try await server.request("PATCH", "/notes/\(id)", headers: alice, json: change.json)
                    }
                    expectedStatus = expected.apply(write, created: (try? object(answer))?["id"] as? Int)
                }
                #expect(answer.status == expectedStatus, "\(context), step \(step): \(what) answered \(answer.status): \(answer.text)")
                model = expected
                let rows = try await table()
                #expect(rows == model.rows, "\(context), step \(step): after \(what) the table is \(rows), the model \(model.rows)")
                guard answer.status == expectedStatus, rows == model.rows else { return }
            }
        }
    }
}
