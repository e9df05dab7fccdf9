// `POST /_batch`: writes to any collections in one transaction (docs/API.md, "Batches"). An
// operation is one of a closed set of shapes, one per action and collection, each carrying that
// collection's own create, replace or patch body, so a client (or a fuzzer) that keeps to the
// document sends operations the server reads; what may still fail is the data (a missing item,
// a stale ETag, a foreign key, a reference to an operation that does not come before).

extension ServiceOperations {
    static func batch(_ names: [CollectionNames], feed: Bool) -> DocumentValue {
        var headers: [(String, DocumentValue)] = [("X-Request-Id", ["$ref": "#/components/headers/XRequestId"])]
        if feed { headers.append(("X-Change-Seq", ["$ref": "#/components/headers/XChangeSeq"])) }
        return [
            "post": [
                "operationId": "applyBatch",
                "tags": ["service"],
                "summary": "Create, replace, patch and delete items of any collections, all or nothing",
                "description": .string(batchDescription),
                "parameters": [requestID],
                "requestBody": [
                    "required": true,
                    "content": ["application/json": ["schema": ["type": "array", "items": ["$ref": "#/components/schemas/BatchOperation"]]]],
                ],
                "responses": AccessControl.guarded([
                    ("200", [
                        "description": "Committed: one result per operation, in order.",
                        "headers": .object(ordered: headers),
                        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/BatchResults"]]],
                    ]),
                    ("400", response("BadRequest")), ("404", response("NotFound")), ("409", response("Conflict")),
                    ("412", response("PreconditionFailed")), ("413", response("PayloadTooLarge")),
                    ("415", response("UnsupportedMediaType")), ("422", response("UnprocessableEntity")),
                    ("500", response("InternalServerError")), ("503", response("ServiceUnavailable")),
                    ("507", response("InsufficientStorage")),
                ]),
            ],
        ]
    }

    /// `components/schemas` of the batch: the operation (one shape per action and collection),
    /// a reference to an earlier result, and the answer.
    static func batchSchemas(_ names: [CollectionNames]) -> [(String, DocumentValue)] {
        func schema(_ name: String) -> DocumentValue { ["$ref": .string("#/components/schemas/" + name)] }
        let reference = schema("BatchReference")
        var shapes: [DocumentValue] = []
        for names in names {
            let collection: DocumentValue = ["type": "string", "const": .string(names.collection.name)]
            let id: DocumentValue = ["anyOf": [CollectionOperations.pathSchema(names.collection.primaryKey), reference]]
            let ifMatch: DocumentValue = ["type": "string", "pattern": .string(ValueSyntax.storableString), "description": "As the `If-Match` header."]
            func shape(_ action: String, body: String?, hasID: Bool) -> DocumentValue {
                var properties: [(String, DocumentValue)] = [("op", ["type": "string", "const": .string(action)]), ("collection", collection)]
                var required: [DocumentValue] = ["op", "collection"]
                if hasID {
                    properties += [("id", id), ("ifMatch", ifMatch)]
                    required.append("id")
                }
                if let body {
                    properties.append(("body", schema(body)))
                    required.append("body")
                }
                return [
                    "title": .string("\(action) \(names.collection.name)"),
                    "type": "object",
                    "properties": .object(ordered: properties),
                    "required": .array(required),
                    "additionalProperties": false,
                ]
            }
            shapes += [
                shape("create", body: names.create, hasID: false), shape("put", body: names.replace, hasID: true),
                shape("patch", body: names.patch, hasID: true), shape("delete", body: nil, hasID: true),
            ]
        }
        let items = names.map { schema($0.item) }
        return [
            ("BatchOperation", [
                "description": "One operation: `op` and `collection` pick its shape; `id` for put, patch and delete; `body` for create, put and patch; `ifMatch` optional.",
                "oneOf": .array(shapes),
            ]),
            ("BatchReference", [
                "type": "object",
                "description": .string(batchReference),
                "properties": ["$ref": ["type": "string", "pattern": "^/(0|[1-9][0-9]*)(/[^\\x00]*)?$"]],
                "required": ["$ref"],
                "additionalProperties": false,
            ]),
            ("BatchResults", [
                "type": "object",
                "properties": [
                    "results": [
                        "type": "array",
                        "items": [
                            "type": "object",
                            "properties": [
                                "status": ["type": "integer", "enum": [200, 201, 204]],
                                "body": ["description": "The stored item (not for a delete).", "anyOf": .array(items)],
                                "etag": ["type": "string", "description": "The item's ETag (not for a delete)."],
                            ],
                            "required": ["status"],
                            "additionalProperties": false,
                        ],
                    ],
                ],
                "required": ["results"],
                "additionalProperties": false,
            ]),
        ]
    }

    static let batchDescription = """
        The operations run in order in one transaction through the single writer: all are \
        committed (durably, before the answer) or none. Each obeys what its single route obeys \
        (`POST /{collection}`, `PUT`, `PATCH` (JSON Merge Patch), `DELETE /{collection}/{id}`): the \
        same checks, access rules and statuses; `ifMatch` is the `If-Match` header. The events of a \
        batch are consecutive seqs in operation order. When an operation fails, nothing is \
        written and the answer is its status with a problem whose pointers start with its index \
        (`/2/body/title`). At most `--max-bulk-items` operations (1,000 by default): 413 above. \
        The `id` of an operation, or a top-level field of its `body`, may be `{"$ref": "/N/field"}`: \
        the value at that JSON pointer in the result body of an earlier operation N.
        """

    static let batchReference = """
        A JSON pointer into the result body of an earlier operation, starting with its index: \
        `{"$ref": "/0/id"}` is the id of the item the first operation created. A reference to an \
        operation that does not come before, to a delete, or to a missing field is 422.
        """
}
