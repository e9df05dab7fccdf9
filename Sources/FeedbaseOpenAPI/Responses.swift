// The error responses every operation shares: RFC 9457 problems (the `Problem` schema), the
// response headers, and `components/responses`, among them the answers of access control
// (which operations list them is in AccessControl.swift).

extension Components {
    static let problem: DocumentValue = [
        "type": "object",
        "description": "An RFC 9457 problem. Never holds SQL or a stack trace.",
        "properties": [
            "type": ["type": "string", "const": "about:blank"],
            "title": ["type": "string", "description": "The status's reason phrase."],
            "status": ["type": "integer", "minimum": 400, "maximum": 599],
            "detail": ["type": "string"],
            "instance": ["type": "string", "description": "The request's path."],
            "requestId": ["type": "string", "description": "The request's X-Request-Id."],
            "errors": [
                "type": "array",
                "description": "What to fix: body fields by JSON pointer (RFC 6901), query parameters by name.",
                "items": [
                    "type": "object",
                    "properties": [
                        "pointer": ["type": "string"],
                        "parameter": ["type": "string"],
                        "detail": ["type": "string"],
                    ],
                    "required": ["detail"],
                ],
            ],
        ],
        "required": ["type", "title", "status", "detail", "instance", "requestId"],
    ]

    static let headers: DocumentValue = [
        "XRequestId": [
            "description": "The request's id: the client's `X-Request-Id` when usable, else a new one. Also in the log line and in every error body.",
            "required": true,
            "schema": ["type": "string"],
        ],
        "XChangeSeq": [
            "description": .string(Texts.changeSeq),
            "required": true,
            "schema": ["type": "integer", "format": "int64", "minimum": 0],
        ],
        "XChangeSeqListing": [
            "description": .string(Texts.changeSeq + " Absent on the live query's stream (`text/event-stream`)."),
            "schema": ["type": "integer", "format": "int64", "minimum": 0],
        ],
        "ETag": [
            "description": "The strong entity tag of the item's JSON representation.",
            "schema": ["type": "string", "pattern": "^\"[0-9a-f]{16}\"$"],
        ],
        "ETagRequired": [
            "description": "The strong entity tag of the item's JSON representation.",
            "required": true,
            "schema": ["type": "string", "pattern": "^\"[0-9a-f]{16}\"$"],
        ],
        "Location": [
            "description": "The created item's URL (for an object body).",
            "schema": ["type": "string"],
        ],
        "LocationRequired": [
            "description": "The created item's URL.",
            "required": true,
            "schema": ["type": "string"],
        ],
        "Link": [
            "description": "`<URL>; rel=\"next\"` while more rows may follow: the same query with an `after` cursor.",
            "schema": ["type": "string"],
        ],
        "ContentRange": [
            "description": "With `Prefer: count=exact`: `first-last/total` of this page, `*/total` when it is empty.",
            "schema": ["type": "string", "pattern": "^(?:\\*|[0-9]+-[0-9]+)/[0-9]+$"],
        ],
        "PreferenceApplied": [
            "description": "`count=exact` when the count was made.",
            "schema": ["type": "string", "enum": ["count=exact"]],
        ],
        "RetryAfter": [
            "description": "Seconds to wait before retrying.",
            "required": true,
            "schema": ["type": "integer", "minimum": 0],
        ],
        "WWWAuthenticate": [
            "description": .string(Texts.wwwAuthenticate),
            "required": true,
            "schema": ["type": "string"],
        ],
        "AcceptPatch": [
            "description": "The body media types the server reads.",
            "required": true,
            "schema": ["type": "string"],
        ],
    ]

    private static func problem(_ description: String, extraHeaders: [(String, DocumentValue)] = []) -> DocumentValue {
        var headers: [(String, DocumentValue)] = [("X-Request-Id", ["$ref": "#/components/headers/XRequestId"])]
        headers += extraHeaders
        return [
            "description": .string(description),
            "headers": .object(ordered: headers),
            "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]],
        ]
    }

    static let responses: DocumentValue = [
        "BadRequest": problem(
            Texts.badRequest),
        "NotFound": problem(
            "No such item (or an id that cannot be of the key's type, or a row the access rules hide from you: the same answer), or an unknown collection in `collections`."),
        "Unauthorized": problem(
            Texts.unauthorized,
            extraHeaders: [("WWW-Authenticate", ["$ref": "#/components/headers/WWWAuthenticate"])]),
        "Forbidden": problem(Texts.forbidden),
        "Conflict": problem(
            "A PRIMARY KEY or UNIQUE conflict (`errors` names the column), or a delete of an item that items of another collection still refer to, or a change of the value they refer to it by (`detail` names the collection)."),
        "PreconditionFailed": problem(
            "`If-Match` or `If-None-Match` failed.",
            extraHeaders: [("ETag", ["$ref": "#/components/headers/ETag"])]),
        "PayloadTooLarge": problem(
            "The body is larger than the server's limit (`--max-body`; the connection is closed), or a bulk create holds more items than `--max-bulk-items`."),
        "UnsupportedMediaType": problem(
            "The body is not declared as JSON (`application/json`, `application/merge-patch+json` or any `application/*+json`).",
            extraHeaders: [("Accept-Patch", ["$ref": "#/components/headers/AcceptPatch"])]),
        "UnprocessableEntity": problem(
            Texts.unprocessable),
        "Gone": problem("Events after `since` were pruned: re-read the collections, then continue from their X-Change-Seq."),
        "TooManyRequests": problem(
            Texts.tooManyRequests,
            extraHeaders: [("Retry-After", ["$ref": "#/components/headers/RetryAfter"])]),
        "InternalServerError": problem("A fault of the server; the body says only that, with the request id. The log has the detail."),
        "InsufficientStorage": problem(
            "The disk is full, or the database reached its size limit (`--max-db-size`): nothing of the request was written. Retry once space returns."),
        "ServiceUnavailable": problem(
            "The database stayed locked by another process past the busy timeout, or could not be read or written (an I/O error).",
            extraHeaders: [("Retry-After", ["$ref": "#/components/headers/RetryAfter"])]),
        "ServiceUnavailableLiveQuery": problem(
            "The database stayed locked by another process past the busy timeout; or, for a live query, the server follows as many distinct bands as it may (`--feed-max-bands`).",
            extraHeaders: [("Retry-After", ["$ref": "#/components/headers/RetryAfter"])]),
    ]
}
