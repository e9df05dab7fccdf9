// The service's own paths: `/`, `/_health`, `/_ready`, and the documents that describe the server, which
// anyone may read (no credentials wanted). The feed's two paths are in ServiceOperations+Feed.swift.

/// `/`, `/_health`, the feed's two routes, and the three documents.
enum ServiceOperations {
    static let requestID = Parameters.reference("RequestId")
    private static let requestIDHeader: DocumentValue = ["X-Request-Id": ["$ref": "#/components/headers/XRequestId"]]

    static func response(_ name: String) -> DocumentValue { ["$ref": .string("#/components/responses/" + name)] }

    static let index: DocumentValue = [
        "get": [
            "operationId": "getIndex",
            "tags": ["service"],
            "summary": "The collections and the links of this server",
            "parameters": [requestID],
            "security": AccessControl.none,
            "responses": [
                "200": [
                    "description": "The index.",
                    "headers": requestIDHeader,
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Index"]]],
                ],
                "400": response("BadRequest"),
            ],
        ],
    ]

    static let health: DocumentValue = [
        "get": [
            "operationId": "getHealth",
            "tags": ["service"],
            "summary": "Whether the database answers",
            "parameters": [requestID],
            "security": AccessControl.none,
            "responses": [
                "200": [
                    "description": "The database answers.",
                    "headers": requestIDHeader,
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Health"]]],
                ],
                "400": response("BadRequest"),
                "503": [
                    "description": "The database does not answer.",
                    "headers": requestIDHeader,
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Health"]]],
                ],
            ],
        ],
    ]

    static let readiness: DocumentValue = [
        "get": [
            "operationId": "getReadiness",
            "tags": ["service"],
            "summary": "Whether this server should be sent traffic now",
            "description": """
                Ready when the database takes writes (not read-only, its write lock to be had), the feed has loaded \
                everything committed, and the server is not stopping; otherwise 503 with the first reason. `/_health` \
                says only whether the database answers.
                """,
            "parameters": [requestID],
            "security": AccessControl.none,
            "responses": [
                "200": [
                    "description": "Ready.",
                    "headers": requestIDHeader,
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Readiness"]]],
                ],
                "400": response("BadRequest"),
                "503": [
                    "description": "Not ready: the reason says why.",
                    "headers": requestIDHeader,
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Readiness"]]],
                ],
            ],
        ],
    ]

    /// `/openapi.json`, `/openapi.yaml` and (with the feed) `/asyncapi.json`.
    static func documents(feed: Bool) -> [(String, DocumentValue)] {
        func document(_ operationID: String, _ summary: String, _ mediaType: String) -> DocumentValue {
            let body: DocumentValue = ["schema": ["type": "object"]]
            return [
                "get": [
                    "operationId": .string(operationID),
                    "tags": ["service"],
                    "summary": .string(summary),
                    "parameters": [requestID],
                    "security": AccessControl.none,
                    "responses": [
                        "200": [
                            "description": "The document.",
                            "headers": requestIDHeader,
                            "content": .object(ordered: [(mediaType, body)]),
                        ],
                        "400": response("BadRequest"),
                    ],
                ],
            ]
        }
        var paths: [(String, DocumentValue)] = [
            ("/openapi.json", document("getOpenAPIJSON", "This OpenAPI document, as JSON", "application/json")),
            ("/openapi.yaml", document("getOpenAPIYAML", "This OpenAPI document, as YAML", "application/yaml")),
        ]
        if feed { paths.append(("/asyncapi.json", document("getAsyncAPIJSON", "The AsyncAPI document of the WebSocket feed", "application/json"))) }
        return paths
    }
}
