// The AsyncAPI document of the WebSocket feed: the server named by the URL, the channel, the
// operations and their messages, the whole feed's and the band protocol's, and how a subscriber
// authenticates.

import Testing

@testable import FeedbaseOpenAPI

@Suite struct AsyncAPIDocumentTests: DocumentTesting {
    @Test func asyncAPIDescribesTheWebSocketChannel() async throws {
        let schema = try await Self.schema()
        let document = OpenAPIDocument.asyncAPI(for: schema, serverURL: "https://feeds.example:8443/base/")
        #expect(document["asyncapi"] == "3.0.0")
        var server = try #require(document["servers"]?["feedbase"])
        server["security"] = nil  // asyncAPIDescribesFeedAuthentication
        #expect(server == [
            "host": "feeds.example:8443", "protocol": "wss",
            "description": "The Feedbase server; the feed shares the port of the REST API.", "pathname": "/base",
        ])
        let local = OpenAPIDocument.asyncAPI(for: schema, serverURL: nil)["servers"]?["feedbase"]
        #expect(local?["host"] == "localhost:8080")
        #expect(local?["protocol"] == "ws")
        #expect(local?["pathname"] == nil)
        let channel = try #require(document["channels"]?["feed"])
        #expect(channel["address"] == "/_feed")
        #expect(channel["messages"]?.keys == [
            "change", "ready", "reset", "subscribe", "unsubscribe", "subscribed", "bandChange", "bandReady", "bandProgress", "bandReset",
            "unsubscribed", "error", "auth", "authenticated", "bandEnded",
        ])
        #expect(channel["bindings"]?["ws"]?["query"]?["properties"]?.keys == ["since", "collections", "mode", "access_token"])
        let operation = try #require(document["operations"]?["receiveChanges"])
        #expect(operation["action"] == "receive")
        #expect(operation["channel"] == ["$ref": "#/channels/feed"])
        #expect(operation["messages"]?[0] == ["$ref": "#/channels/feed/messages/change"])
        #expect(document["components"]?["messages"]?["change"]?["payload"] == ["$ref": "#/components/schemas/ChangeEvent"])
        #expect(document["components"]?["schemas"]?["ChangeEvent"]?["oneOf"]?.arrayValue?.count == 3)
        #expect(document["components"]?["schemas"]?["ChangeEvent"]?["discriminator"] == nil)
        #expect(document["components"]?["schemas"]?["Ready"]?["properties"]?["type"] == ["const": "ready"])
    }

    @Test func asyncAPIDescribesTheBandProtocol() async throws {
        let document = OpenAPIDocument.asyncAPI(for: try await Self.schema(), serverURL: nil)
        let mode = try #require(document["channels"]?["feed"]?["bindings"]?["ws"]?["query"]?["properties"]?["mode"])
        #expect(mode["enum"] == ["bands"])
        // Written from the client's side: it sends subscribe and unsubscribe, and receives the rest.
        let operations = try #require(document["operations"])
        #expect(operations.keys == ["receiveChanges", "subscribeBand", "unsubscribeBand", "authenticate", "receiveBands"])
        // The credential replaced in place: answered with authenticated or an error; bands it ends get `ended`.
        #expect(operations["authenticate"]?["messages"] == [["$ref": "#/channels/feed/messages/auth"]])
        #expect(operations["authenticate"]?["reply"]?["messages"] == [
            ["$ref": "#/channels/feed/messages/authenticated"], ["$ref": "#/channels/feed/messages/error"],
        ])
        #expect(operations["receiveBands"]?["messages"]?.arrayValue?.contains(["$ref": "#/channels/feed/messages/bandEnded"]) == true)
        #expect(operations["subscribeBand"]?["action"] == "send")
        #expect(operations["subscribeBand"]?["messages"] == [["$ref": "#/channels/feed/messages/subscribe"]])
        #expect(operations["subscribeBand"]?["reply"]?["messages"] == [
            ["$ref": "#/channels/feed/messages/subscribed"], ["$ref": "#/channels/feed/messages/error"],
        ])
        #expect(operations["unsubscribeBand"]?["action"] == "send")
        #expect(operations["receiveBands"]?["action"] == "receive")
        // Every message an operation names is one of its channel's.
        let channelMessages = Set(document["channels"]?["feed"]?["messages"]?.keys ?? [])
        for name in operations.keys {
            let operation = operations[name]
            let references = (operation?["messages"]?.arrayValue ?? []) + (operation?["reply"]?["messages"]?.arrayValue ?? [])
            for reference in references {
                let message = reference["$ref"]?.stringValue?.replacing("#/channels/feed/messages/", with: "") ?? ""
                #expect(channelMessages.contains(message), "\(name): \(message)")
            }
        }

        let schemas = try #require(document["components"]?["schemas"])
        let subscribe = try #require(schemas["Subscribe"])
        #expect(subscribe["properties"]?.keys == ["type", "id", "url", "since"])
        #expect(subscribe["properties"]?["type"] == ["const": "subscribe"])
        #expect(subscribe["required"] == ["type", "id", "url"])
        #expect(subscribe["properties"]?["id"]?["maxLength"] == 64)
        #expect(schemas["Unsubscribe"]?["required"] == ["type", "id"])
        #expect(schemas["Auth"]?["required"] == ["type", "token"])
        #expect(schemas["Authenticated"]?["required"] == ["type"])
        #expect(schemas["BandEnded"]?["properties"]?.keys == ["type", "id", "band", "problem"])
        #expect(schemas["BandEnded"]?["required"] == ["type", "id", "band"])
        #expect(schemas["Subscribed"]?["required"] == ["type", "id", "band"])
        for (name, type, last) in [("BandReady", "ready", "seq"), ("BandProgress", "progress", "seq"), ("BandReset", "reset", "oldest")] {
            #expect(schemas[name]?["properties"]?["type"] == ["const": .string(type)], "\(name)")
            #expect(schemas[name]?["required"] == ["type", "id", "band", .string(last)], "\(name)")
        }
        // A band's change: the change event with the band's name after seq and a narrowed item.
        #expect(schemas["BandChangeEvent"]?["oneOf"]?.arrayValue?.count == 3)
        let message = try #require(schemas["TaskBandMessage"])
        #expect(message["properties"]?.keys == ["seq", "band", "collection", "op", "id", "item", "at"])
        #expect(message["required"] == ["seq", "band", "collection", "op", "id", "item", "at"])
        #expect(message["properties"]?["op"]?["enum"] == ["create", "update", "delete", "enter", "leave"])
        #expect(message["properties"]?["item"] == ["$ref": "#/components/schemas/TaskListItem"])
        #expect(schemas["TaskListItem"] != nil)
        // An error's problem is the HTTP one without what only a request has.
        let error = try #require(schemas["BandError"])
        #expect(error["properties"]?["id"]?["type"] == ["string", "null"])
        #expect(error["properties"]?["problem"] == ["$ref": "#/components/schemas/MessageProblem"])
        #expect(schemas["MessageProblem"]?["required"] == ["type", "title", "status", "detail"])
        #expect(schemas["MessageProblem"]?["properties"]?.keys == ["type", "title", "status", "detail", "errors"])
        let messages = try #require(document["components"]?["messages"])
        #expect(messages["bandChange"]?["payload"] == ["$ref": "#/components/schemas/BandChangeEvent"])
        #expect(messages["error"]?["payload"] == ["$ref": "#/components/schemas/BandError"])
    }

    @Test func asyncAPIDescribesFeedAuthentication() async throws {
        let document = OpenAPIDocument.asyncAPI(for: try await Self.schema(), serverURL: nil)
        // Either scheme on the connection; without one the subscriber is `anon`.
        #expect(document["servers"]?["feedbase"]?["security"] == [
            ["$ref": "#/components/securitySchemes/bearerAuth"], ["$ref": "#/components/securitySchemes/accessToken"],
        ])
        let schemes = try #require(document["components"]?["securitySchemes"])
        #expect(schemes["bearerAuth"]?["type"] == "http")
        #expect(schemes["bearerAuth"]?["scheme"] == "bearer")
        #expect(schemes["accessToken"]?["type"] == "httpApiKey")
        #expect(schemes["accessToken"]?["in"] == "query")
        #expect(schemes["accessToken"]?["name"] == "access_token")
        let binding = try #require(document["channels"]?["feed"]?["bindings"]?["ws"])
        #expect(binding["query"]?["properties"]?["access_token"]?["type"] == "string")
        #expect(binding["headers"]?["properties"]?.keys == ["Authorization"])

        // Expired or revoked credentials close the socket with 4401 and the seq to resume from.
        let channel = document["channels"]?["feed"]?["description"]?.stringValue ?? ""
        #expect(channel.contains("4401"))
        #expect(channel.contains("credentials expired or revoked; authenticate again and resume with since=N"))
        #expect(channel.contains("each band from the last seq it received"))
        #expect(document["info"]?["description"]?.stringValue?.contains("`access_token`") == true)
        // The rules refuse a band with the socket's error message, 401 or 403.
        #expect(document["components"]?["messages"]?["error"]?["description"]?.stringValue?.contains("401 or 403") == true)

        // Server-Sent Events end with `unauthorized` instead: a schema beside ready and reset,
        // and a message the WebSocket channel does not carry.
        let schemas = try #require(document["components"]?["schemas"])
        #expect(schemas["Unauthorized"] == [
            "type": "object",
            "properties": ["type": ["const": "unauthorized"], "seq": ["type": "integer", "format": "int64", "minimum": 0]],
            "required": ["type", "seq"],
            "additionalProperties": false,
        ])
        #expect(Array(schemas.keys.drop { $0 != "Ready" }.prefix(3)) == ["Ready", "Reset", "Unauthorized"])
        #expect(document["components"]?["messages"]?["unauthorized"]?["payload"] == ["$ref": "#/components/schemas/Unauthorized"])
        #expect(document["channels"]?["feed"]?["messages"]?["unauthorized"] == nil)
    }
}
