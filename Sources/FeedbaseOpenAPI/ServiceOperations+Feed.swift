// The change feed's paths: `/_changes` (catching up over plain HTTP) and `/_feed` (Server-Sent
// Events or the WebSocket upgrade), which take the token as `access_token` too. A band's
// `/_changes/{collection}` is with its collection's operations (CollectionOperations+Changes.swift).

extension ServiceOperations {
    static func changes(_ names: [CollectionNames]) -> DocumentValue {
        [
            "get": [
                "operationId": "listChanges",
                "tags": ["feed"],
                "summary": "Catch up on changes over plain HTTP",
                "description": .string(Texts.changes),
                "parameters": [
                    Parameters.query("since", Parameters.sinceSchema(Texts.changesSince), Texts.changesSince),
                    Parameters.query("collections", Parameters.collectionsSchema(names), Texts.collections),
                    Parameters.query("limit", Parameters.changesLimit, "At most this many events."),
                    Parameters.query("wait", Parameters.changesWait, "Seconds to wait for an event when there is none yet."),
                    requestID,
                ],
                "security": AccessControl.feed,
                "responses": AccessControl.guarded([
                    ("200", [
                        "description": "Events (possibly none).",
                        "headers": [
                            "X-Request-Id": ["$ref": "#/components/headers/XRequestId"],
                            "X-Change-Seq": ["$ref": "#/components/headers/XChangeSeq"],
                        ],
                        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Changes"]]],
                    ]),
                    ("400", response("BadRequest")),
                    ("404", response("NotFound")),
                    ("410", response("Gone")),
                    ("500", response("InternalServerError")),
                    ("503", response("ServiceUnavailable")),
                ]),
            ],
        ]
    }

    static func feed(_ names: [CollectionNames]) -> DocumentValue {
        [
            "get": [
                "operationId": "subscribeFeed",
                "tags": ["feed"],
                "summary": "Subscribe to changes: Server-Sent Events or a WebSocket",
                "description": .string(Texts.feedOperationDescription),
                "parameters": [
                    Parameters.query("since", Parameters.sinceSchema(Texts.feedSince), Texts.feedSince),
                    Parameters.query("collections", Parameters.collectionsSchema(names), Texts.collections),
                    [
                        "name": "Last-Event-ID", "in": "header",
                        "description": "SSE resume point, which wins over `since` (an `EventSource` sends it by itself on every reconnect and keeps its URL).",
                        "schema": Components.fieldValue,
                    ],
                    requestID,
                ],
                "security": AccessControl.feed,
                "responses": AccessControl.guarded([
                    ("101", [
                        "description": .string(Texts.upgraded),
                        "headers": [
                            "Upgrade": ["required": true, "schema": ["type": "string", "enum": ["websocket"]]],
                            "Connection": ["required": true, "schema": ["type": "string"]],
                            "Sec-WebSocket-Accept": ["required": true, "schema": ["type": "string"]],
                        ],
                    ]),
                    ("200", [
                        "description": .string(Texts.eventStream),
                        "headers": [
                            "X-Request-Id": ["$ref": "#/components/headers/XRequestId"],
                            "Cache-Control": ["required": true, "schema": ["type": "string", "enum": ["no-store"]]],
                        ],
                        "content": ["text/event-stream": ["schema": ["type": "string"]]],
                    ]),
                    ("400", response("BadRequest")),
                    ("404", response("NotFound")),
                    ("410", response("Gone")),
                    ("500", response("InternalServerError")),
                    ("503", response("ServiceUnavailable")),
                ]),
            ],
        ]
    }
}
