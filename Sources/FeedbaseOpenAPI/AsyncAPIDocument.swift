// The AsyncAPI 3.0 document of the WebSocket feed, and the WebSocket endpoint it names. Its
// component schemas are the OpenAPI document's (ItemSchemas, ChangeSchemas), so both documents
// describe the same events.

import FeedbaseStore

extension OpenAPIDocument {
    /// The AsyncAPI 3.0.0 document of the WebSocket feed (`GET /_feed` with `Upgrade: websocket`),
    /// written from a subscriber's side: the application it describes receives the changes.
    public static func asyncAPI(for schema: Schema, serverURL: String?) -> DocumentValue {
        let names = CollectionNames.assign(schema)
        let endpoint = WebSocketEndpoint(serverURL ?? defaultServerURL)
        var server: DocumentValue = [
            "host": .string(endpoint.host),
            "protocol": .string(endpoint.protocolName),
            "description": "The Feedbase server; the feed shares the port of the REST API.",
        ]
        if let pathname = endpoint.pathname { server["pathname"] = .string(pathname) }

        var schemas: [(String, DocumentValue)] = []
        for collection in names {
            let shapes = ItemSchemas(names: collection, schema: schema)
            schemas += [(collection.item, shapes.item), (collection.change, shapes.change)]
        }
        schemas += [
            ("ChangeEvent", ChangeSchemas.event(names, discriminator: false)), ("Ready", ChangeSchemas.ready),
            ("Reset", ChangeSchemas.reset), ("JSONValue", ColumnSchema.jsonValue),
        ]
        let messageNames = ["change", "ready", "reset"]

        return [
            "asyncapi": "3.0.0",
            "info": [
                "title": "Feedbase change feed",
                "version": .string(apiVersion),
                "description": .string(Texts.asyncAPIDescription),
            ],
            "defaultContentType": "application/json",
            "servers": ["feedbase": server],
            "channels": [
                "feed": [
                    "address": "/_feed",
                    "title": "The change feed",
                    "description": .string(Texts.feedChannelDescription),
                    "messages": .object(ordered: messageNames.map { ($0, ["$ref": .string("#/components/messages/" + $0)]) }),
                    "bindings": [
                        "ws": [
                            "method": "GET",
                            "query": ChangeSchemas.feedQuery(names),
                            "bindingVersion": "0.1.0",
                        ],
                    ],
                ],
            ],
            "operations": [
                "receiveChanges": [
                    "action": "receive",
                    "channel": ["$ref": "#/channels/feed"],
                    "summary": "Receive the backlog after `since`, a ready marker, then every change as it commits.",
                    "messages": .array(messageNames.map { ["$ref": .string("#/channels/feed/messages/" + $0)] }),
                ],
            ],
            "components": [
                "messages": ChangeSchemas.messages,
                "schemas": .object(ordered: schemas),
            ],
        ]
    }
}

/// The WebSocket endpoint of a server URL: `https://h:1/base` → host `h:1`, protocol `wss`,
/// pathname `/base`.
struct WebSocketEndpoint {
    var host: String
    var protocolName: String
    var pathname: String?

    init(_ url: String) {
        var rest = Substring(url)
        protocolName = "ws"
        if let separator = rest.range(of: "://") {
            let scheme = rest[..<separator.lowerBound].lowercased()
            protocolName = scheme == "https" || scheme == "wss" ? "wss" : "ws"
            rest = rest[separator.upperBound...]
        }
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        let slash = rest.firstIndex(of: "/")
        let host = slash.map { rest[..<$0] } ?? rest
        self.host = host.isEmpty ? "localhost:8080" : String(host)
        var path = slash.map { String(rest[$0...]) } ?? ""
        while path.hasSuffix("/") { path.removeLast() }
        pathname = path.isEmpty ? nil : path
    }
}
