// The shared schemas of the service's own bodies (`Index`, `Health`). The other shared
// components are with their kind: Parameters.swift, Responses.swift.

enum Components {
    static func index(feed: Bool) -> DocumentValue {
        var properties: [(String, DocumentValue)] = [
            ("collections", [
                "type": "array",
                "items": [
                    "type": "object",
                    // `key`: the primary key's column, which a client needs to tell items apart.
                    "properties": ["name": ["type": "string"], "url": ["type": "string"], "key": ["type": "string"]],
                    "required": ["name", "url", "key"],
                    "additionalProperties": false,
                ],
            ]),
        ]
        var required: [DocumentValue] = ["collections", "health", "ready"]
        if feed {
            properties += [("feed", ["type": "string", "const": "/_feed"]), ("changes", ["type": "string", "const": "/_changes"])]
            required += ["feed", "changes"]
        }
        properties.append(("health", ["type": "string", "const": "/_health"]))
        properties.append(("ready", ["type": "string", "const": "/_ready"]))
        properties.append(("openapi", ["type": "string", "const": "/openapi.json"]))
        required.append("openapi")
        if feed {
            properties.append(("asyncapi", ["type": "string", "const": "/asyncapi.json"]))
            required.append("asyncapi")
        }
        return [
            "type": "object",
            "properties": .object(ordered: properties),
            "required": .array(required),
            "additionalProperties": false,
        ]
    }

    static let health: DocumentValue = [
        "type": "object",
        "properties": ["status": ["type": "string", "enum": ["ok", "unavailable"]]],
        "required": ["status"],
        "additionalProperties": false,
    ]

    static let readiness: DocumentValue = [
        "type": "object",
        "properties": ["status": ["type": "string", "enum": ["ready", "unavailable"]], "reason": ["type": "string"]],
        "required": ["status"],
        "additionalProperties": false,
    ]
}
