// Bands (live queries) in the OpenAPI document: `/_changes/{collection}` with the listing's filters
// and its own paging, the band's message and page schemas, and the listing's second answer, its
// live query as `text/event-stream`.

import Testing

@testable import FeedbaseOpenAPI

@Suite struct BandOperationTests: DocumentTesting {
    @Test func eachCollectionHasItsBandChangesWithTheListingsFilters() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let operation = try #require(Self.operation(document, "/_changes/tasks", "get"))
        #expect(operation["operationId"] == "listTaskChanges")
        #expect(operation["tags"] == ["tasks"])
        let parameters = try #require(operation["parameters"]?.arrayValue)
        let names = parameters.compactMap { $0["name"]?.stringValue ?? $0["$ref"]?.stringValue }
        #expect(names == [
            "id", "project_id", "title", "done", "priority", "estimate", "due", "tags", "attachment", "created_at", "or", "and", "not.or",
            "not.and", "select", "since", "limit", "wait", "#/components/parameters/RequestId",
        ])
        // The same filters as the listing: one parser serves both. Its select embeds nothing
        // (a band's items are single rows).
        let listing = try #require(Self.operation(document, "/tasks", "get")?["parameters"]?.arrayValue)
        for name in ["project_id", "done", "tags", "or", "not.and"] {
            #expect(parameters.first { $0["name"]?.stringValue == name } == listing.first { $0["name"]?.stringValue == name }, "\(name)")
        }
        func schema(_ name: String) -> DocumentValue? { parameters.first { $0["name"]?.stringValue == name }?["schema"] }
        #expect(schema("limit") == ["type": "integer", "minimum": 1, "maximum": 1000, "default": 100])
        #expect(schema("wait") == ["type": "integer", "minimum": 0, "maximum": 60, "default": 0])
        #expect(schema("since")?["minimum"] == 0)

        let ok = try #require(operation["responses"]?["200"])
        #expect(ok["headers"]?["X-Change-Seq"] == ["$ref": "#/components/headers/XChangeSeq"])
        #expect(ok["content"]?.keys == ["application/json"])
        #expect(ok["content"]?["application/json"]?["schema"] == ["$ref": "#/components/schemas/TaskBandChanges"])
        #expect(operation["responses"]?["410"] == ["$ref": "#/components/responses/Gone"])
        // Every path of the document for the three collections, next to the whole feed's.
        let paths = document["paths"]?.keys ?? []
        #expect(Array(paths[3...7]) == ["/_changes", "/_changes/comments", "/_changes/projects", "/_changes/tasks", "/_feed"])
    }

    @Test func aBandsMessagesTellEnterAndLeaveAndCarryNarrowedItems() async throws {
        let schemas = try #require(OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)["components"]?["schemas"])
        let message = try #require(schemas["TaskBandChange"])
        #expect(message["properties"]?.keys == ["seq", "collection", "op", "id", "item", "at"])
        #expect(message["properties"]?["op"]?["enum"] == ["create", "update", "delete", "enter", "leave"])
        #expect(message["properties"]?["collection"] == ["type": "string", "const": "tasks"])
        // `select` narrows the item: the listing's item, whose keys are all optional.
        #expect(message["properties"]?["item"] == ["$ref": "#/components/schemas/TaskListItem"])
        #expect(schemas["TaskListItem"]?["required"] == nil)
        #expect(message["required"] == ["seq", "collection", "op", "id", "item", "at"])
        #expect(message["additionalProperties"] == false)
        let page = try #require(schemas["TaskBandChanges"])
        #expect(page["properties"]?["changes"]?["items"] == ["$ref": "#/components/schemas/TaskBandChange"])
        #expect(page["properties"]?["last_seq"]?["type"] == "integer")
        #expect(page["required"] == ["changes", "last_seq"])
        // The whole feed's events keep their three ops.
        #expect(schemas["TaskChange"]?["properties"]?["op"]?["enum"] == ["create", "update", "delete"])
    }

    @Test func theListingAlsoAnswersItsLiveQueryAsAnEventStream() async throws {
        let schema = try await Self.schema()
        let document = OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil)
        let listing = try #require(Self.operation(document, "/tasks", "get"))
        let ok = try #require(listing["responses"]?["200"])
        #expect(ok["content"]?.keys == ["application/json", "text/event-stream"])
        #expect(ok["content"]?["text/event-stream"]?["schema"] == ["type": "string"])
        #expect(ok["description"]?.stringValue?.contains("`event: progress`") == true)
        // The stream carries no X-Change-Seq: on the listing it is optional.
        #expect(ok["headers"]?["X-Change-Seq"] == ["$ref": "#/components/headers/XChangeSeqListing"])
        let headers = try #require(document["components"]?["headers"])
        #expect(headers["XChangeSeqListing"]?["required"] == nil)
        #expect(headers["XChangeSeq"]?["required"] == true)
        #expect(listing["responses"]?["410"] == ["$ref": "#/components/responses/Gone"])
        #expect(listing["responses"]?["503"] == ["$ref": "#/components/responses/ServiceUnavailableLiveQuery"])
        #expect(document["components"]?["responses"]?["ServiceUnavailableLiveQuery"]?["headers"]?.keys == ["X-Request-Id", "Retry-After"])
        // Without the feed there is no live query.
        let plain = OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil)
        #expect(Self.operation(plain, "/tasks", "get")?["responses"]?["503"] == ["$ref": "#/components/responses/ServiceUnavailable"])
        #expect(plain["components"]?["schemas"]?["TaskBandChange"] == nil)
    }

    /// `/_changes/{collection}` takes `since`, `limit` and `wait` for itself (and ignores `order`,
    /// `offset`, `after`), so a column of such a name is a filter of the listing only.
    @Test func columnsNamedLikeTheBandPagesParametersAreNotFilteredThere() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(sql: """
            CREATE TABLE timers (id INTEGER PRIMARY KEY, since INTEGER, wait INTEGER, "limit" INTEGER, label TEXT);
            """), feed: true, serverURL: nil)
        func names(_ path: String) -> [String] {
            Self.operation(document, path, "get")?["parameters"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        }
        #expect(names("/timers") == ["id", "since", "wait", "label", "or", "and", "not.or", "not.and", "order", "select"])
        #expect(names("/_changes/timers") == ["id", "label", "or", "and", "not.or", "not.and", "select", "since", "limit", "wait"])
    }
}
