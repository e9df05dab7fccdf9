// The plan layer alone: every client mistake in a listing is found, named after its query
// parameter, and every operand typed by its column, before any engine sees the query.

import FeedbaseModel
import Testing

@Suite struct PlanTests {
    func plan(_ collection: CollectionSchema = Fixtures.tasks, _ build: (inout ListQuery) -> Void) throws -> ListPlan {
        var query = ListQuery()
        build(&query)
        return try ListPlan(query, of: collection, in: Fixtures.schema)
    }

    /// The error a query gets: its parameter and message.
    func mistake(_ collection: CollectionSchema = Fixtures.tasks, _ build: (inout ListQuery) -> Void) -> (String?, String)? {
        do {
            _ = try plan(collection, build)
            return nil
        } catch let error as StoreError {
            return error.kind == .badQuery ? (error.parameter, error.message) : ("kind", "\(error.kind)")
        } catch {
            return ("other", "\(error)")
        }
    }

    @Test func everyMistakeIsFoundAndNamedAfterItsParameter() {
        let cases: [(String, String, (inout ListQuery) -> Void)] = [
            ("nope", "tasks has no column 'nope'", { $0.filters = [Filter(column: "nope", op: .eq, operand: .value("1"))] }),
            ("priority", "'high' is not an integer (column 'priority' is integer)", {
                $0.filters = [Filter(column: "priority", op: .eq, operand: .value("high"))]
            }),
            ("done", "gt cannot compare a boolean column", { $0.filters = [Filter(column: "done", op: .gt, operand: .value("true"))] }),
            ("priority", "like needs a text column; 'priority' is integer", {
                $0.filters = [Filter(column: "priority", op: .like, operand: .value("1*"))]
            }),
            ("title", "is.true and is.false need a boolean column; 'title' is string", {
                $0.filters = [Filter(column: "title", op: .is, operand: .true)]
            }),
            ("title", "in takes a list in parentheses", { $0.filters = [Filter(column: "title", op: .in, operand: .value("a"))] }),
            ("title", "eq takes a single value", { $0.filters = [Filter(column: "title", op: .eq, operand: .list(["a"]))] }),
            ("title", "a pattern cannot contain U+0000", { $0.filters = [Filter(column: "title", op: .like, operand: .value("a\0*"))] }),
            ("or", "priority: 'x' is not an integer", {
                $0.groups = [FilterGroup(any: true, members: [.filter(Filter(column: "priority", op: .eq, operand: .value("x")))], parameter: "or")]
            }),
            ("order", "cannot order by 'tags': a json column", { $0.order = [Ordering(column: "tags")] }),
            ("order", "'title' appears twice", { $0.order = [Ordering(column: "title"), Ordering(column: "title", descending: true)] }),
            ("select", "tasks has no column 'nope'", { $0.select = ["title", "nope"] }),
            ("after", "not a cursor of this listing", { $0.after = "!!" }),
            ("select", "tasks has no relation 'owner'; its relations: project", { $0.embeds = [Embed(key: "owner", relation: "owner")] }),
            ("project.limit", "'project' embeds one projects item", {
                var project = Embed(key: "project", relation: "project")
                project.limit = 3
                $0.embeds = [project]
            }),
        ]
        for (parameter, message, build) in cases {
            let found = mistake(Fixtures.tasks, build)
            #expect(found?.0 == parameter, "\(message): \(String(describing: found))")
            #expect(found?.1.contains(message) == true, "\(message): \(String(describing: found))")
        }
        // An embedded relation's filter is named with its path.
        var tasks = Embed(key: "tasks", relation: "tasks")
        tasks.filters = [Filter(column: "priority", op: .gte, operand: .value("soon"))]
        let embedded = mistake(Fixtures.projects) { $0.embeds = [tasks] }
        #expect(embedded?.0 == "tasks.priority")
    }

    @Test func mistakesAreReportedInTheOrderOfTheRequest() {
        // Order first, then filters, then the cursor, then select: the first wins.
        let found = mistake {
            $0.select = ["nope"]
            $0.after = "!!"
            $0.filters = [Filter(column: "priority", op: .eq, operand: .value("x"))]
            $0.order = [Ordering(column: "tags")]
        }
        #expect(found?.0 == "order")
        let next = mistake {
            $0.select = ["nope"]
            $0.after = "!!"
            $0.filters = [Filter(column: "priority", op: .eq, operand: .value("x"))]
        }
        #expect(next?.0 == "priority")
    }

    @Test func operandsAreTypedByTheirColumn() throws {
        func operand(_ column: String, _ text: String) throws -> RowPredicate.Test? {
            try plan { $0.filters = [Filter(column: column, op: .eq, operand: .value(text))] }.filter.filters.first?.test
        }
        #expect(try operand("priority", "3") == .compare(.eq, .integer(3)))
        #expect(try operand("estimate", "2") == .compare(.eq, .integer(2)))
        #expect(try operand("estimate", "2.5") == .compare(.eq, .real(2.5)))
        #expect(try operand("done", "true") == .compare(.eq, .integer(1)))
        #expect(try operand("due", "2026-01-01T10:00:00+01:00") == .compare(.eq, .text("2026-01-01T09:00:00.000Z")))
        #expect(try operand("attachment", "AAE=") == .compare(.eq, .blob([0, 1])))
        // A JSON operand compares in its normalised form; text that is not JSON as a JSON string.
        #expect(try operand("tags", "{\"a\": [1, 2]}") == .compare(.eq, .text("{\"a\":[1,2]}")))
        #expect(try operand("tags", "abc") == .compare(.eq, .text("\"abc\"")))
        // Decimal notation only: Double alone would read `nan` and `inf`.
        #expect(throws: StoreError.self) { try operand("estimate", "nan") }
    }

    @Test func aRulesOperandOfTheWrongTypeAdmitsNoRowInsteadOfFailing() throws {
        let plan = try plan {
            $0.rule = [
                Filter(column: "priority", op: .eq, operand: .value("alice")),
                Filter(column: "priority", op: .in, operand: .list(["1", "bob", "3"])),
            ]
        }
        #expect(plan.filter.rule.map(\.test) == [.never, .oneOf([.integer(1), .integer(3)])])
    }

    @Test func theOrderEndsInTheKeyInTheLastKeysDirection() throws {
        let keys = try plan { $0.order = [Ordering(column: "priority", descending: true)] }.keys
        #expect(keys.map(\.column.name) == ["priority", "id"])
        #expect(keys.map(\.descending) == [true, true])
        // The key is unique: nothing after it matters.
        let byKey = try plan { $0.order = [Ordering(column: "id"), Ordering(column: "title")] }.keys
        #expect(byKey.map(\.column.name) == ["id"])
    }

    @Test func aCursorCarriesItsOrdersValuesAndIsRefusedForAnotherOrder() throws {
        let cursor = Cursor.encode("[\"priority.desc,id.desc\",3,17]")
        let after = try plan {
            $0.order = [Ordering(column: "priority", descending: true)]
            $0.after = cursor
        }.after
        #expect(after == [.integer(3), .integer(17)])
        let other = mistake {
            $0.order = [Ordering(column: "title")]
            $0.after = cursor
        }
        #expect(other?.0 == "after")
        #expect(other?.1.contains("belongs to another order") == true)
        // A BLOB sort value (another program's, in a boolean column) travels as {"base64": ...}.
        let blob = try plan {
            $0.order = [Ordering(column: "done")]
            $0.after = Cursor.encode("[\"done.asc,id.asc\",{\"base64\":\"AAE=\"},4]")
        }.after
        #expect(blob == [.blob([0, 1]), .integer(4)])
    }

    @Test func aBandsPredicateIsTheListingsOwnPlan() throws {
        let plan = try plan {
            $0.filters = [Filter(column: "done", op: .eq, operand: .value("false"))]
            $0.groups = [FilterGroup(
                any: true,
                members: [
                    .filter(Filter(column: "priority", op: .gte, operand: .value("4"))), .filter(Filter(column: "title", op: .like, operand: .value("urgent*"))),
                ], parameter: "or")]
        }
        let predicate = plan.filter.predicate(of: Fixtures.tasks)
        func item(done: Bool, priority: Int, title: String) -> [UInt8] {
            Array("{\"id\":1,\"project_id\":1,\"title\":\"\(title)\",\"done\":\(done),\"priority\":\(priority),\"estimate\":null,\"due\":null,\"tags\":null,\"attachment\":null}".utf8)
        }
        #expect(predicate.matches(itemJSON: item(done: false, priority: 5, title: "x")))
        #expect(predicate.matches(itemJSON: item(done: false, priority: 1, title: "urgent: call")))
        #expect(!predicate.matches(itemJSON: item(done: false, priority: 1, title: "later")))
        #expect(!predicate.matches(itemJSON: item(done: true, priority: 5, title: "urgent")))
    }
}
