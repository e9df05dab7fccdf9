// The AsyncAPI 3.0 document of the WebSocket feed, and the WebSocket endpoint it names: the
// whole feed, and the live queries (bands) a client subscribes to on the same socket
// (BandSchemas). Its component schemas are the OpenAPI document's (ItemSchemas, ChangeSchemas),
// so both documents describe the same events.

import FeedbaseModel

extension OpenAPIDocument {
    /// The AsyncAPI 3.0.0 document of the WebSocket feed (`GET /_feed` with `Upgrade: websocket`),
    /// written from a subscriber's side: the application it describes receives the changes, and
    /// sends the `subscribe` and `unsubscribe` messages of its bands.
    public static func asyncAPI(for schema: Schema, serverURL: String?) -> DocumentValue {
        let names = CollectionNames.assign(schema)
        let endpoint = WebSocketEndpoint(serverURL ?? defaultServerURL)
        var server: DocumentValue = [
            "host": .string(endpoint.host),
            "protocol": .string(endpoint.protocolName),
            "description": "The Feedbase server; the feed shares the port of the REST API.",
        ]
        if let pathname = endpoint.pathname { server["pathname"] = .string(pathname) }
        // Alternatives, and optional (AsyncAPI cannot say so): without credentials the subscriber is `anon`.
        server["security"] = [["$ref": "#/components/securitySchemes/bearerAuth"], ["$ref": "#/components/securitySchemes/accessToken"]]

        var schemas: [(String, DocumentValue)] = []
        for collection in names {
            let shapes = ItemSchemas(names: collection, schema: schema)
            schemas += [
                (collection.item, shapes.item), (collection.change, shapes.change), (collection.listItem, shapes.listItem),
                (collection.bandMessage, shapes.bandChange(band: true)),
            ]
        }
        schemas += [
            ("ChangeEvent", ChangeSchemas.event(names, discriminator: false)), ("Ready", ChangeSchemas.ready), ("Reset", ChangeSchemas.reset),
            ("Unauthorized", ChangeSchemas.unauthorized),
        ]
        schemas += BandSchemas.schemas(names)
        schemas.append(("JSONValue", ColumnSchema.jsonValue))
        let messageNames = ["change", "ready", "reset"] + BandSchemas.messageNames
        func messages(_ names: [String]) -> DocumentValue { .array(names.map { ["$ref": .string("#/channels/feed/messages/" + $0)] }) }
        // The client's messages, each answered on the same socket.
        func sending(_ message: String, _ summary: String, replies: [String]) -> DocumentValue {
            [
                "action": "send",
                "channel": ["$ref": "#/channels/feed"],
                "summary": .string(summary),
                "messages": messages([message]),
                "reply": ["channel": ["$ref": "#/channels/feed"], "messages": messages(replies)],
            ]
        }
        var componentMessages = ChangeSchemas.messages
        for (name, message) in BandSchemas.messages { componentMessages[name] = message }
        var query = ChangeSchemas.feedQuery(names)
        query["properties"]?["mode"] = ["type": "string", "enum": ["bands"], "description": .string(Texts.modeBands)]
        query["properties"]?["access_token"] = ["type": "string", "description": "The Bearer token, when the `Authorization` header cannot be sent."]
        let headers: DocumentValue = [
            "type": "object",
            "properties": ["Authorization": ["type": "string", "description": "`Bearer <token>`: an API key or a JWT (optional)."]],
        ]

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
                    "description": .string(Texts.feedChannelDescription + "\n\n" + Texts.bandsOnSocket),
                    "messages": .object(ordered: messageNames.map { ($0, ["$ref": .string("#/components/messages/" + $0)]) }),
                    "bindings": [
                        "ws": [
                            "method": "GET",
                            "query": query,
                            "headers": headers,
                            "bindingVersion": "0.1.0",
                        ],
                    ],
                ],
            ],
            "operations": [
                "receiveChanges": [
                    "action": "receive",
                    "channel": ["$ref": "#/channels/feed"],
                    "summary": "Receive the backlog after `since`, a ready marker, then every change as it commits (not with `mode=bands`).",
                    "description": "The whole feed of the collections asked for: only for an identity that may read every row of them.",
                    "messages": messages(["change", "ready", "reset"]),
                ],
                "subscribeBand": sending("subscribe", "Follow a live query (a band) on this socket.", replies: ["subscribed", "error"]),
                "unsubscribeBand": sending("unsubscribe", "Stop following a live query.", replies: ["unsubscribed", "error"]),
                "authenticate": sending("auth", "Replace the socket's credential; every band is judged again.", replies: ["authenticated", "error"]),
                "receiveBands": [
                    "action": "receive",
                    "channel": ["$ref": "#/channels/feed"],
                    "summary": "Receive each subscription's backlog, ready marker, live changes and progress, and its reset.",
                    "messages": messages(["bandChange", "bandReady", "bandProgress", "bandReset", "bandEnded", "error"]),
                ],
            ],
            "components": [
                "messages": componentMessages,
                "schemas": .object(ordered: schemas),
                "securitySchemes": AccessControl.asyncAPISchemes,
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
