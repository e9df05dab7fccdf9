// The component schemas of items: column types, nullability and descriptions, what a create,
// replace or patch requires, change events, and JSON columns.

import Testing

@testable import FeedbaseOpenAPI

@Suite struct ComponentSchemaTests: DocumentTesting {
    @Test func taskColumnsAreTypedAndNullableColumnsAdmitNull() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let task = try #require(document["components"]?["schemas"]?["Task"])
        let properties = try #require(task["properties"])
        #expect(properties.keys == ["id", "project_id", "title", "done", "priority", "estimate", "due", "tags", "attachment", "created_at"])
        #expect(properties["id"]?["type"] == "integer")
        #expect(properties["id"]?["format"] == "int64")
        #expect(properties["id"]?["minimum"] == .integer(Int64.min))
        #expect(properties["id"]?["maximum"] == .integer(Int64.max))
        #expect(properties["project_id"]?["type"] == "integer")
        #expect(properties["title"]?["type"] == "string")
        #expect(properties["done"]?["type"] == "boolean")
        #expect(properties["priority"]?["type"] == ["integer", "null"])
        #expect(properties["estimate"]?["type"] == ["number", "null"])
        #expect(properties["due"]?["type"] == ["string", "null"])
        #expect(properties["due"]?["format"] == "date-time")
        #expect(properties["attachment"]?["type"] == ["string", "null"])
        #expect(properties["attachment"]?["contentEncoding"] == "base64")
        #expect(properties["created_at"]?["type"] == "string")
        #expect(properties["created_at"]?["format"] == "date-time")
        // A nullable JSON column takes any JSON value: the empty schema (generators cannot map an
        // `anyOf` with a null branch), like JSONValue.
        #expect(properties["tags"]?["type"] == nil)
        #expect(properties["tags"]?["anyOf"] == nil)
        #expect(document["components"]?["schemas"]?["JSONValue"]?.keys == ["description"])
        #expect(properties["project_id"]?["description"]?.stringValue?.contains("References `projects(id)`") == true)
        #expect(properties["project_id"]?["description"]?.stringValue?.contains("CASCADE") == true)
        #expect(task["required"] == ["id", "project_id", "title", "done", "priority", "estimate", "due", "tags", "attachment", "created_at"])
        #expect(task["additionalProperties"] == false)

        let comment = try #require(document["components"]?["schemas"]?["Comment"]?["properties"])
        #expect(comment["id"]?["type"] == "string")
        #expect(comment["posted_on"]?["format"] == "date")
        // TIME columns hold HH:MM:SS[.fraction] without an offset: JSON Schema's `time` format would demand one.
        #expect(comment["remind_at"]?["format"] == nil)
        #expect(comment["remind_at"]?["pattern"]?.stringValue?.hasPrefix("^(?:[01][0-9]|2[0-3]):") == true)
        let project = try #require(document["components"]?["schemas"]?["Project"]?["properties"])
        #expect(project["name"]?["description"]?.stringValue?.contains("Unique") == true)
    }

    @Test func writeSchemasRequireWhatTheStoreRequires() async throws {
        let schemas = try #require(OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)["components"]?["schemas"])
        let create = try #require(schemas["TaskCreate"])
        #expect(create["required"] == ["project_id", "title"])
        #expect(create["additionalProperties"] == false)
        // A server-assigned key may be sent, or null ("assign one").
        #expect(create["properties"]?["id"]?["type"] == ["integer", "null"])
        #expect(create["properties"]?["done"]?["default"] == false)
        #expect(create["properties"]?["created_at"]?["default"] == nil)
        let replace = try #require(schemas["TaskReplace"])
        #expect(replace["properties"]?["id"] == nil)
        #expect(replace["required"] == ["project_id", "title"])
        let patch = try #require(schemas["TaskPatch"])
        #expect(patch["properties"]?["id"] == nil)
        #expect(patch["required"] == nil)
        #expect(patch["properties"]?["title"]?["type"] == "string")
        #expect(patch["properties"]?["priority"]?["type"] == ["integer", "null"])
        #expect(schemas["TaskListItem"]?["required"] == nil)
        #expect(schemas["CommentCreate"]?["required"] == ["task_id", "body"])
        #expect(schemas["ProjectCreate"]?["required"] == ["name"])
    }

    @Test func changeEventsAreTypedPerCollection() async throws {
        let schemas = try #require(OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)["components"]?["schemas"])
        let event = try #require(schemas["ChangeEvent"])
        #expect(event["oneOf"] == [
            ["$ref": "#/components/schemas/CommentChange"], ["$ref": "#/components/schemas/ProjectChange"],
            ["$ref": "#/components/schemas/TaskChange"],
        ])
        #expect(event["discriminator"]?["mapping"]?["tasks"] == "#/components/schemas/TaskChange")
        #expect(schemas["TaskChange"]?["properties"]?["collection"] == ["type": "string", "const": "tasks"])
        #expect(schemas["TaskChange"]?["properties"]?["item"] == ["$ref": "#/components/schemas/Task"])
        #expect(schemas["TaskChange"]?["properties"]?["op"]?["enum"] == ["create", "update", "delete"])
    }

    @Test func notNullJSONColumnsHaveOneSingleTypedBranchPerJSONType() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(sql: """
            CREATE TABLE settings (id INTEGER PRIMARY KEY, value JSON NOT NULL);
            """), feed: false, serverURL: nil)
        let value = try #require(document["components"]?["schemas"]?["Setting"]?["properties"]?["value"])
        // One type per branch: swift-openapi-generator keeps only the first type of a type list.
        #expect(value["anyOf"]?.arrayValue?.map { $0["type"] } == ["boolean", "number", "string", "array", "object"])
        #expect(value["anyOf"]?[3]?["items"] == ["$ref": "#/components/schemas/JSONValue"])
    }
}
