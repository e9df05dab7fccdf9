// The parameters of a listing: a filter per column (an array of conditions whose patterns follow
// each type's operator syntax), `order`, `select` and paging.

import FeedbaseModel
import FeedbaseSQLite
import Testing

@testable import FeedbaseOpenAPI

@Suite struct ListingParameterTests: DocumentTesting {
    @Test func listingTakesAFilterPerColumnAndThePagingParameters() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let parameters = try #require(Self.operation(document, "/tasks", "get")?["parameters"]?.arrayValue)
        let names = parameters.compactMap { $0["name"]?.stringValue ?? $0["$ref"]?.stringValue }
        #expect(names == [
            "id", "project_id", "title", "done", "priority", "estimate", "due", "tags", "attachment", "created_at", "or", "and", "not.or",
            "not.and", "order", "select", "#/components/parameters/Limit", "#/components/parameters/Offset", "#/components/parameters/After",
            "#/components/parameters/Prefer", "#/components/parameters/RequestId",
        ])
        let limit = try #require(document["components"]?["parameters"]?["Limit"]?["schema"])
        #expect(limit["maximum"] == 1000)
        #expect(limit["type"] == "integer")
        let okHeaders = Self.operation(document, "/tasks", "get")?["responses"]?["200"]?["headers"]?.keys
        #expect(okHeaders == ["X-Request-Id", "Link", "Content-Range", "Preference-Applied", "X-Change-Seq"])
    }

    /// A filter is an array of conditions sent as repeated parameters
    /// (`priority=gte.2&priority=lte.4`), so that a generated client can send several; each item
    /// keeps its type's pattern.
    @Test func eachFilterIsAnArrayOfConditionsRepeatedInTheQuery() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let parameters = try #require(Self.operation(document, "/tasks", "get")?["parameters"]?.arrayValue)
        let priority = try #require(parameters.first { $0["name"] == "priority" })
        #expect(priority["in"] == "query")
        #expect(priority["style"] == "form")
        #expect(priority["explode"] == true)
        #expect(priority["required"] == nil)
        #expect(priority["schema"] == [
            "type": "array",
            "items": ["type": "string", "pattern": .string(ValueSyntax.filter(.integer))],
            "minItems": 1,
            "maxItems": 10,  // ListQuery.maximumFiltersPerColumn
        ])
        #expect(priority["description"]?.stringValue?.contains("`priority=...&priority=...`) and the conditions AND together") == true)
        let title = try #require(parameters.first { $0["name"] == "title" })
        #expect(title["schema"]?["items"]?["pattern"]?.stringValue == ValueSyntax.filter(.string))
        // Every column's filter has the array form; the other listing parameters keep one value.
        for name in ["id", "project_id", "title", "done", "priority", "estimate", "due", "tags", "attachment", "created_at"] {
            #expect(parameters.first { $0["name"]?.stringValue == name }?["schema"]?["type"] == "array", "\(name)")
        }
        #expect(parameters.first { $0["name"] == "order" }?["schema"]?["type"] == "string")
        #expect(parameters.first { $0["name"] == "select" }?["schema"]?["type"] == "string")
        #expect(parameters.first { $0["name"] == "order" }?["explode"] == nil)
        let components = try #require(document["components"]?["parameters"])
        #expect(components["Limit"]?["schema"]?["type"] == "integer")
        #expect(components["Offset"]?["schema"]?["type"] == "integer")
        #expect(components["After"]?["schema"]?["type"] == "string")
    }

    /// The filter patterns as the server parses them: what the pattern admits, the server takes.
    @Test func filterPatternsFollowTheOperatorSyntaxOfEachType() throws {
        func matches(_ type: ColumnType, _ value: String) throws -> Bool {
            try Regex(ValueSyntax.filter(type)).wholeMatch(in: value) != nil
        }
        #expect(try matches(.integer, "eq.5"))
        #expect(try matches(.integer, "not.in.(1,2,-3)"))
        #expect(try matches(.integer, "gte.+7"))
        #expect(try !matches(.integer, "eq.abc"))
        #expect(try !matches(.integer, "like.5*"))
        #expect(try !matches(.integer, "is.true"))
        #expect(try matches(.boolean, "is.true"))
        #expect(try !matches(.boolean, "gt.true"))
        #expect(try matches(.string, "ilike.*fence*"))
        #expect(try matches(.string, #"in.("a,b",c,"say \"hi\"")"#))
        #expect(try !matches(.string, #"in.("a"b)"#))
        #expect(try matches(.string, "eq."))
        #expect(try !matches(.string, "equals.x"))
        #expect(try matches(.dateTime, "lt.2026-12-01T00:00:00+02:00"))
        #expect(try matches(.date, "eq.2024-02-29"))
        #expect(try !matches(.date, "eq.2023-02-29"))
        #expect(try !matches(.date, "eq.2026-04-31"))
        #expect(try matches(.time, "gt.23:59:59.123456789"))
        #expect(try !matches(.time, "gt.24:00:00"))
        #expect(try matches(.blob, "eq.QQ=="))
        #expect(try !matches(.blob, "eq.QR=="))
        #expect(try !matches(.json, "gt.1"))
    }

    /// `or=(...)` and its kin: the group's text is a component, one level of up to three conditions
    /// of a simple subset (is, and comparisons of numbers, booleans and text, quoted when needed).
    @Test func groupParametersShareTheirCollectionsConditionsPattern() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let parameters = try #require(Self.operation(document, "/tasks", "get")?["parameters"]?.arrayValue)
        let or = try #require(parameters.first { $0["name"]?.stringValue == "not.or" })
        #expect(or["schema"]?["items"] == ["$ref": "#/components/schemas/TaskConditions"])
        let pattern = try #require(document["components"]?["schemas"]?["TaskConditions"]?["pattern"]?.stringValue)
        func matches(_ value: String) throws -> Bool { try Regex(pattern).wholeMatch(in: value) != nil }
        #expect(try matches("(priority.gt.3,due.is.null)"))
        #expect(try matches(#"(title.eq."a, (b)",title.not.like.*x*,done.is.true)"#))
        #expect(try matches("(title.like.*a*,project_id.eq.1,estimate.lt.2.5)"))
        // A subset of the syntax: lists, dates and nesting are accepted by the server but left out.
        #expect(try !matches("(project_id.in.(1,2))"))
        #expect(try !matches("(due.lt.2026-01-01T00:00:00Z)"))
        #expect(try !matches("(id.eq.1,id.eq.2,id.eq.3,id.eq.4)"))
        #expect(try !matches("(priority.gt.x)"))
        #expect(try !matches("(title.eq.a,b)"))
        #expect(try !matches("(nope.eq.1)"))
        #expect(try !matches("()"))
    }

    /// A listing's select may embed one level of relations, each with its target's columns; the
    /// list item describes the embedded keys by the related list item; a band's select cannot.
    @Test func selectEmbedsRelationsAndTheListItemDescribesThem() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        func selectPattern(_ path: String) throws -> String {
            let parameters = try #require(Self.operation(document, path, "get")?["parameters"]?.arrayValue)
            return try #require(parameters.first { $0["name"]?.stringValue == "select" }?["schema"]?["pattern"]?.stringValue)
        }
        let listing = try Regex(try selectPattern("/tasks"))
        let band = try Regex(try selectPattern("/_changes/tasks"))
        for accepted in ["id,title", "*,project(name)", "id,comments(body,*),project(*)"] {
            #expect(try listing.wholeMatch(in: accepted) != nil, "\(accepted)")
        }
        for refused in ["id,project(nope)", "tasks(id)", "project()", "id,", "project(id),title,project(name)"] {
            #expect(try listing.wholeMatch(in: refused) == nil, "\(refused)")
        }
        #expect(try band.wholeMatch(in: "id,title") != nil)
        #expect(try band.wholeMatch(in: "id,project(name)") == nil)
        let properties = try #require(document["components"]?["schemas"]?["TaskListItem"]?["properties"])
        #expect(properties["project"]?["oneOf"] == [["$ref": "#/components/schemas/ProjectListItem"], ["type": "null"]])
        #expect(properties["comments"]?["items"] == ["$ref": "#/components/schemas/CommentListItem"])
        #expect(document["components"]?["schemas"]?["Task"]?["properties"]?["project"] == nil)
    }

    @Test func orderAdmitsDistinctSortableColumnsOnly() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let parameters = try #require(Self.operation(document, "/tasks", "get")?["parameters"]?.arrayValue)
        let order = try #require(parameters.first { $0["name"] == "order" }?["schema"]?["pattern"]?.stringValue)
        let regex = try Regex(order)
        for accepted in ["priority.desc,title", "title", "id.desc", "done,priority.asc,id"] {
            #expect(accepted.wholeMatch(of: regex) != nil, "\(accepted)")
        }
        for refused in ["title,title.desc", "tags", "attachment.asc", "nope", "", "title.up", "priority,,title"] {
            #expect(refused.wholeMatch(of: regex) == nil, "\(refused)")
        }
    }
}
