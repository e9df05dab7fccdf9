// Parameters: the helpers operations build theirs with, and the shared ones under
// `components/parameters` (request headers, paging).

enum Parameters {
    static func sinceSchema(_ description: String) -> DocumentValue {
        ["type": "integer", "format": "int64", "minimum": 0, "maximum": .integer(Int64.max), "description": .string(description)]
    }

    /// Comma-separated collection names; an unknown one is 404.
    static func collectionsSchema(_ names: [CollectionNames]) -> DocumentValue {
        let known = names.map(\.collection.name).filter { !$0.contains(",") }
        let pattern = known.isEmpty ? "^,*$" : "^" + ValueSyntax.alternation(known) + "?(?:," + ValueSyntax.alternation(known) + "?)*$"
        return [
            "type": "string",
            "pattern": .string(pattern),
            "description": .string(Texts.collections),
        ]
    }

    /// `limit` and `wait` of `/_changes` and `/_changes/{collection}` (FeedRoutes.pageParameters).
    static let changesLimit: DocumentValue = ["type": "integer", "minimum": 1, "maximum": 1000, "default": 100]
    static let changesWait: DocumentValue = ["type": "integer", "minimum": 0, "maximum": 60, "default": 0]

    static func query(_ name: String, _ schema: DocumentValue, _ description: String) -> DocumentValue {
        ["name": .string(name), "in": "query", "description": .string(description), "schema": schema]
    }

    static func reference(_ name: String) -> DocumentValue { ["$ref": .string("#/components/parameters/" + name)] }
}

extension Components {
    /// A request header's value as HTTP/1.1 carries it (RFC 9110 field-value: visible ASCII, space,
    /// tab and obs-text). Any such value is accepted; a control character makes the request
    /// unparsable, which is a 400 on any route.
    static let fieldValue: DocumentValue = ["type": "string", "pattern": .string(ValueSyntax.fieldValue)]

    static let parameters: DocumentValue = [
        "RequestId": [
            "name": "X-Request-Id", "in": "header",
            "description": "Echoed in the response and in error bodies when it is 1 to 200 visible ASCII characters; otherwise the server makes one.",
            "schema": fieldValue,
        ],
        "IfMatch": [
            "name": "If-Match", "in": "header",
            "description": .string(Texts.ifMatch),
            "schema": fieldValue,
        ],
        "IfNoneMatchRead": [
            "name": "If-None-Match", "in": "header",
            "description": "Entity tags (weak comparison, `W/` accepted) or `*`: 304 when one matches.",
            "schema": fieldValue,
        ],
        "IfNoneMatchWrite": [
            "name": "If-None-Match", "in": "header",
            "description": "`*` makes the PUT create only: 412 when the item exists.",
            "schema": fieldValue,
        ],
        "Prefer": [
            "name": "Prefer", "in": "header",
            "description": "`count=exact` adds `Content-Range` (the number of matching rows) and `Preference-Applied`.",
            "schema": fieldValue,
        ],
        "Limit": [
            "name": "limit", "in": "query",
            "description": "Items per page; above 1000 is refused with 400.",
            "schema": ["type": "integer", "minimum": 0, "maximum": 1000, "default": 100],
        ],
        "Offset": [
            "name": "offset", "in": "query",
            "description": "Rows to skip. Prefer the `Link` header's cursor: an offset shifts under concurrent writes.",
            "schema": ["type": "integer", "format": "int64", "minimum": 0, "maximum": .integer(Int64.max), "default": 0],
        ],
        "After": [
            "name": "after", "in": "query",
            "description": "The opaque cursor of a `Link: rel=\"next\"` URL; valid only with the same `order`. Anything else is refused with 400.",
            "schema": ["type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_-]+$"],
        ],
    ]
}
