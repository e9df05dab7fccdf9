// The AsyncAPI document of the WebSocket feed: the server named by the URL, the channel, the
// operation and its messages.

import Testing

@testable import FeedbaseOpenAPI

@Suite struct AsyncAPIDocumentTests: DocumentTesting {
    @Test func asyncAPIDescribesTheWebSocketChannel() async throws {
        let schema = try await Self.schema()
        let document = OpenAPIDocument.asyncAPI(for: schema, serverURL: "https://feeds.example:8443/base/")
        #expect(document["asyncapi"] == "3.0.0")
        #expect(document["servers"]?["feedbase"] == [
            "host": "feeds.example:8443", "protocol": "wss",
            "description": "The Feedbase server; the feed shares the port of the REST API.", "pathname": "/base",
        ])
        let local = OpenAPIDocument.asyncAPI(for: schema, serverURL: nil)["servers"]?["feedbase"]
        #expect(local?["host"] == "localhost:8080")
        #expect(local?["protocol"] == "ws")
        #expect(local?["pathname"] == nil)
        let channel = try #require(document["channels"]?["feed"])
        #expect(channel["address"] == "/_feed")
        #expect(channel["messages"]?.keys == ["change", "ready", "reset"])
        #expect(channel["bindings"]?["ws"]?["query"]?["properties"]?.keys == ["since", "collections"])
        let operation = try #require(document["operations"]?["receiveChanges"])
        #expect(operation["action"] == "receive")
        #expect(operation["channel"] == ["$ref": "#/channels/feed"])
        #expect(operation["messages"]?[0] == ["$ref": "#/channels/feed/messages/change"])
        #expect(document["components"]?["messages"]?["change"]?["payload"] == ["$ref": "#/components/schemas/ChangeEvent"])
        #expect(document["components"]?["schemas"]?["ChangeEvent"]?["oneOf"]?.arrayValue?.count == 3)
        #expect(document["components"]?["schemas"]?["ChangeEvent"]?["discriminator"] == nil)
        #expect(document["components"]?["schemas"]?["Ready"]?["properties"]?["type"] == ["const": "ready"])
    }
}
