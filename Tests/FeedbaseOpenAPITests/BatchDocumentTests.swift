// `POST /_batch` in the OpenAPI document: its statuses, and an operation schema with one closed
// shape per action and served collection, each carrying that collection's own body schema.

import FeedbaseModel
import FeedbaseSQLite
import Testing

@testable import FeedbaseOpenAPI

@Suite struct BatchDocumentTests: DocumentTesting {
    @Test func theBatchIsOneOperationWithEveryStatusItsHandlerAnswers() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        #expect(Self.statuses(document, "/_batch", "post")
            == ["200", "400", "401", "403", "404", "409", "412", "413", "415", "422", "429", "500", "503", "507"])
        let ok = Self.operation(document, "/_batch", "post")?["responses"]?["200"]
        #expect(ok?["headers"]?.keys == ["X-Request-Id", "X-Change-Seq"])
        #expect(ok?["content"]?["application/json"]?["schema"] == ["$ref": "#/components/schemas/BatchResults"])
        let withoutFeed = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: false, serverURL: nil)
        #expect(Self.operation(withoutFeed, "/_batch", "post")?["responses"]?["200"]?["headers"]?.keys == ["X-Request-Id"])
    }

    @Test func anOperationHasOneShapePerActionAndCollection() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let shapes = try #require(document["components"]?["schemas"]?["BatchOperation"]?["oneOf"]?.arrayValue)
        #expect(shapes.count == 3 * 4)
        let pairs = shapes.map { ($0["properties"]?["op"]?["const"]?.stringValue ?? "", $0["properties"]?["collection"]?["const"]?.stringValue ?? "") }
        #expect(Set(pairs.map { "\($0.0) \($0.1)" }).count == 12)
        for shape in shapes {
            #expect(shape["additionalProperties"] == false)
            let op = shape["properties"]?["op"]?["const"]?.stringValue
            #expect((shape["properties"]?["body"] != nil) == (op != "delete"))
            #expect((shape["properties"]?["id"] != nil) == (op != "create"))
        }
        let putTask = try #require(shapes.first { $0["title"] == "put tasks" })
        #expect(putTask["properties"]?["body"] == ["$ref": "#/components/schemas/TaskReplace"])
        #expect(putTask["required"] == ["op", "collection", "id", "body"])
    }
}
