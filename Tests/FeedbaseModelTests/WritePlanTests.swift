// Bodies and batches checked by the plan layer alone: every problem of a body named by its JSON
// pointer, and a batch's references filled in from earlier results, before an engine writes.

import FeedbaseModel
import Testing

@Suite struct WritePlanTests {
    func values(_ body: String, mode: WriteMode = .create) throws -> RowValues {
        let fields = try RequestBody.fields(ofObject: Array(body.utf8))
        return try RowValidator.values(of: fields, for: Fixtures.tasks, mode: mode, makeID: { "unused" })
    }

    func problems(_ body: String, mode: WriteMode = .create) -> (StoreErrorKind, [String])? {
        do {
            _ = try values(body, mode: mode)
            return nil
        } catch let error as StoreError {
            return (error.kind, error.violations.map { "\($0.pointer) \($0.detail)" })
        } catch {
            return nil
        }
    }

    @Test func aBodyIsTypedByItsColumns() throws {
        let row = try values(#"{"project_id": 1, "title": "t", "done": true, "estimate": 5.0, "due": "2026-01-01T10:00:00+01:00", "tags": {"a": [1, 2]}, "attachment": "AAE="}"#)
        #expect(row.value(of: "project_id") == .integer(1))
        #expect(row.value(of: "done") == .integer(1))
        #expect(row.value(of: "estimate") == .real(5))
        #expect(row.value(of: "due") == .text("2026-01-01T09:00:00.000Z"))
        #expect(row.value(of: "tags") == .text(#"{"a":[1,2]}"#))
        #expect(row.value(of: "attachment") == .blob([0, 1]))
        #expect(row.value(of: "id") == nil)  // the engine assigns it
    }

    @Test func everyProblemOfABodyIsNamedByItsPointer() {
        let unknown = problems(#"{"title": "t", "owner": "me", "title": "u"}"#)
        #expect(unknown?.0 == .malformed)
        #expect(unknown?.1 == ["/owner unknown field; tasks has no column 'owner'", "/title duplicate field"])
        let invalid = problems(#"{"project_id": 1.5, "done": "yes", "priority": 9223372036854775808, "due": "tomorrow"}"#)
        #expect(invalid?.0 == .invalid)
        #expect(invalid?.1 == [
            "/project_id expected an integer, got 1.5", "/title required", "/done expected a boolean, got a string",
            "/priority out of range for a 64-bit integer", "/due expected an RFC 3339 date-time such as 2026-11-25T09:30:00Z",
        ])
        // A patch needs no required column.
        #expect(problems(#"{"priority": 2}"#, mode: .patch) == nil)
        // Strings with \u0000 cannot be stored: refused with their pointer, before any engine.
        #expect(throws: StoreError.self) { try RequestBody.topLevelType(of: Array(#"{"tags": ["a\u0000"]}"#.utf8)) }
        #expect(throws: StoreError.self) { try RequestBody.topLevelType(of: Array("{\"title\": ".utf8)) }
    }

    @Test func aBatchFillsInReferencesFromEarlierResults() throws {
        let body = #"""
            [{"op": "create", "collection": "projects", "body": {"name": "p", "archived": false}},
             {"op": "create", "collection": "tasks", "body": {"project_id": {"$ref": "/0/id"}, "title": "t", "done": false}},
             {"op": "patch", "collection": "tasks", "id": {"$ref": "/1/id"}, "ifMatch": "\"a\", \"b\"", "body": {"done": true}}]
            """#
        var steps: [BatchStep] = []
        var run = BatchRun(collections: ["projects": Fixtures.projects, "tasks": Fixtures.tasks]) { _, _ in .unrestricted }
        let outcomes = try run.apply(Array(body.utf8)) { step in
            steps.append(step)
            let id = 7 + steps.count
            return .created(Item(id: String(id), json: Array(#"{"id":\#(id)}"#.utf8)))
        }
        #expect(outcomes.count == 3)
        #expect(steps.map(\.action) == [.create, .create, .patch])
        #expect(steps[1].fields.first { $0.key == "project_id" }?.atom == .integer(8))
        #expect(steps[2].id == "9")
        #expect(steps[2].key == .integer(9))
        #expect(steps[2].preconditions.ifMatch == ["\"a\"", "\"b\""])
    }

    @Test func aBatchFailureNamesItsOperationAndPointsIntoIt() {
        func failure(_ body: String) -> BatchFailure? {
            var run = BatchRun(collections: ["projects": Fixtures.projects, "tasks": Fixtures.tasks]) { action, collection in
                guard collection != "projects" || action != .delete else { throw StoreError(.forbidden, "no") }
                return .unrestricted
            }
            do {
                _ = try run.apply(Array(body.utf8)) { _ in .deleted }
                return nil
            } catch {
                return error as? BatchFailure
            }
        }
        let later = failure(#"[{"op": "create", "collection": "tasks", "body": {"project_id": {"$ref": "/1/id"}, "title": "t", "done": false}}]"#)
        #expect(later?.index == 0)
        #expect((later?.error as? StoreError)?.violations.map(\.pointer) == ["/body/project_id/$ref"])
        let shape = failure(#"[{"op": "delete", "collection": "tasks", "id": 1}, {"op": "move", "collection": "tasks"}]"#)
        #expect(shape?.index == 1)
        #expect((shape?.error as? StoreError)?.violations.map(\.pointer) == ["/op"])
        let forbidden = failure(#"[{"op": "delete", "collection": "projects", "id": 1}]"#)
        #expect(forbidden?.operation == "delete projects/1")
        #expect((forbidden?.error as? StoreError)?.kind == .forbidden)
        let typed = failure(#"[{"op": "delete", "collection": "tasks", "id": "one"}]"#)
        #expect((typed?.error as? StoreError)?.violations.map(\.pointer) == ["/id"])
    }

    @Test func preconditionsAreCheckedAgainstTheItemAsItIs() throws {
        let item = Item(id: "1", json: Array(#"{"id":1}"#.utf8))
        try Preconditions(ifMatch: [item.etag]).check(current: item)
        try Preconditions(ifMatch: ["*"]).check(current: item)
        #expect(throws: StoreError.self) { try Preconditions(ifMatch: ["\"other\""]).check(current: item) }
        #expect(throws: StoreError.self) { try Preconditions(ifMatch: ["*"]).check(current: nil) }
        #expect(throws: StoreError.self) { try Preconditions(ifNoneMatch: ["*"]).check(current: item) }
        try Preconditions(ifNoneMatch: ["*"]).check(current: nil)
    }

    @Test func anIdIsTypedLikeItsKeyOrNamesNoItem() {
        let key = Fixtures.tasks.primaryKey
        #expect(key.keyValue("42") == .integer(42))
        #expect(key.keyValue("4.2") == nil)
        #expect(Fixtures.column("code", .string, key: true).keyValue("a\u{0}") == nil)
        #expect(Fixtures.column("at", .dateTime, key: true).keyValue("2026-01-01T00:00:00Z") == .text("2026-01-01T00:00:00.000Z"))
    }
}
