// The change feed's schemas and messages, shared by the OpenAPI document (`/_changes`, `/_feed`)
// and the AsyncAPI document (the WebSocket channel).

enum ChangeSchemas {
    /// One change of any collection: one alternative per collection, told apart by `collection`.
    static func event(_ names: [CollectionNames], discriminator: Bool) -> DocumentValue {
        guard !names.isEmpty else {
            // No collection, so no change can happen; keep the shape for clients all the same.
            return [
                "type": "object",
                "properties": [
                    "seq": ["type": "integer", "format": "int64", "minimum": 1], "collection": ["type": "string"],
                    "op": ["type": "string", "enum": ["create", "update", "delete"]], "id": ["type": "string"],
                    "item": ["type": "object"], "at": ["type": "string", "format": "date-time"],
                ],
                "required": ["seq", "collection", "op", "id", "item", "at"],
            ]
        }
        var event: DocumentValue = [
            "description": .string(Texts.changeEvent),
            "oneOf": .array(names.map { ["$ref": .string("#/components/schemas/" + $0.change)] }),
        ]
        if discriminator {
            event["discriminator"] = [
                "propertyName": "collection",
                "mapping": .object(ordered: names.map { ($0.collection.name, .string("#/components/schemas/" + $0.change)) }),
            ]
        }
        return event
    }

    static let changes: DocumentValue = [
        "type": "object",
        "properties": [
            "changes": ["type": "array", "items": ["$ref": "#/components/schemas/ChangeEvent"]],
            "last_seq": [
                "type": "integer", "format": "int64", "minimum": 0,
                "description": "Continue with `since` set to this: the last event's seq when the page is full, else the log's head.",
            ],
        ],
        "required": ["changes", "last_seq"],
        "additionalProperties": false,
    ]

    static let ready: DocumentValue = [
        "type": "object",
        "properties": ["type": ["const": "ready"], "seq": ["type": "integer", "format": "int64", "minimum": 0]],
        "required": ["type", "seq"],
        "additionalProperties": false,
    ]

    static let reset: DocumentValue = [
        "type": "object",
        "properties": ["type": ["const": "reset"], "oldest": ["type": "integer", "format": "int64", "minimum": 0]],
        "required": ["type", "oldest"],
        "additionalProperties": false,
    ]

    /// The data of the Server-Sent Events stream's `event: unauthorized` (ServerSentEvents in
    /// FeedbaseHTTP); a WebSocket is closed with 4401 instead.
    static let unauthorized: DocumentValue = [
        "type": "object",
        "properties": ["type": ["const": "unauthorized"], "seq": ["type": "integer", "format": "int64", "minimum": 0]],
        "required": ["type", "seq"],
        "additionalProperties": false,
    ]

    static let messages: DocumentValue = [
        "change": [
            "name": "change",
            "title": "A change",
            "summary": "One committed change; events arrive in strictly increasing seq.",
            "contentType": "application/json",
            "payload": ["$ref": "#/components/schemas/ChangeEvent"],
        ],
        "ready": [
            "name": "ready",
            "title": "End of the backlog",
            "summary": "Every event after `since` up to `seq` has been sent; live events follow.",
            "contentType": "application/json",
            "payload": ["$ref": "#/components/schemas/Ready"],
        ],
        "reset": [
            "name": "reset",
            "title": "Gap: events were pruned",
            "summary": "Events after `since` were pruned; the connection then closes with code 4410.",
            "description": .string(Texts.resetMessage),
            "contentType": "application/json",
            "payload": ["$ref": "#/components/schemas/Reset"],
        ],
        "unauthorized": [
            "name": "unauthorized",
            "title": "Credentials expired or revoked",
            "summary": "Server-Sent Events only: the stream ends; authenticate again and resume after `seq`.",
            "description": .string(Texts.unauthorizedMessage),
            "contentType": "application/json",
            "payload": ["$ref": "#/components/schemas/Unauthorized"],
        ],
    ]

    /// `since` and `collections`, the query of a feed subscription (FeedRequest.parse).
    static func feedQuery(_ names: [CollectionNames]) -> DocumentValue {
        [
            "type": "object",
            "properties": [
                "since": Parameters.sinceSchema(Texts.feedSince),
                "collections": Parameters.collectionsSchema(names),
            ],
            "additionalProperties": false,
        ]
    }
}
