// The paths of one collection, `/{collection}` and `/{collection}/{id}`: the id parameter, and
// create, read, replace, patch and delete with every status their handlers can answer. The
// listing, with its filter, order and select parameters, is in CollectionOperations+Listing.swift;
// the band's changes (`/_changes/{collection}`) in CollectionOperations+Changes.swift.

import FeedbaseModel

/// The six operations of one collection, with every status its handler (CollectionRoutes in
/// FeedbaseHTTP's API.swift) and the store beneath it can answer; each is guarded by the access
/// rules (401, 403, 429: AccessControl.guarded).
struct CollectionOperations {
    let names: CollectionNames
    let schema: Schema
    let feed: Bool

    var collection: CollectionSchema { names.collection }

    var collectionPath: DocumentValue { ["get": list, "post": create] }

    /// `/_changes/{collection}` (with the feed only).
    var changesPath: DocumentValue { ["get": changes] }

    var itemPath: DocumentValue {
        [
            "parameters": [idParameter],
            "get": read, "put": replace, "patch": patch, "delete": delete,
        ]
    }

    func schemaReference(_ name: String) -> DocumentValue { ["$ref": .string("#/components/schemas/" + name)] }
    func response(_ name: String) -> DocumentValue { ["$ref": .string("#/components/responses/" + name)] }
    func header(_ name: String) -> DocumentValue { ["$ref": .string("#/components/headers/" + name)] }

    var requestID: DocumentValue { Parameters.reference("RequestId") }

    /// A UNIQUE constraint other than the key can make a replace or patch conflict (409).
    private var hasOtherUniqueConstraint: Bool {
        collection.uniqueConstraints.contains { $0 != [collection.primaryKey.name] }
    }

    /// A reference that neither cascades nor clears makes a delete of a referenced item a
    /// conflict (409); one that sets a NOT NULL column to NULL makes it fail as that would (422).
    private var deleteConflicts: (referenced: Bool, notNull: Bool) {
        var result = (referenced: false, notNull: false)
        for child in schema.collections {
            for key in child.foreignKeys where key.table == collection.name {
                switch key.onDelete.uppercased() {
                case "CASCADE": break
                case "SET NULL": if child.column(key.column)?.nullable == false { result.notNull = true }
                default: result.referenced = true
                }
            }
        }
        return result
    }

    /// Response headers of a successful read or write; `changeSeq` names the `X-Change-Seq`
    /// header's component (the listing's is optional: its stream has none).
    func successHeaders(_ extra: [(String, DocumentValue)], changeSeq: String = "XChangeSeq") -> DocumentValue {
        var headers: [(String, DocumentValue)] = [("X-Request-Id", header("XRequestId"))]
        headers += extra
        if feed { headers.append(("X-Change-Seq", header(changeSeq))) }
        return .object(ordered: headers)
    }

    func json(_ schema: DocumentValue) -> DocumentValue { ["application/json": ["schema": schema]] }

    private var idParameter: DocumentValue {
        let key = collection.primaryKey
        return [
            "name": "id",
            "in": "path",
            "required": true,
            "description": .string(
                "The item's primary key `\(key.name)`, percent-encoded (`a%2Fb` is the id `a/b`). " + Texts.absentID),
            "schema": Self.pathSchema(key),
        ]
    }

    /// The id segment as Column.keyValue reads it. It is never empty: `/tasks/` is the
    /// listing.
    static func pathSchema(_ key: Column) -> DocumentValue {
        switch key.type {
        case .integer, .number:
            return ColumnSchema.values(key, nullable: false)
        case .boolean:
            // Read as an integer, as in `Location` (`/flags/1`).
            return ["type": "integer", "format": "int64", "minimum": .integer(Int64.min), "maximum": .integer(Int64.max)]
        case .json:
            return ["type": "string", "minLength": 1]
        case .string, .dateTime, .date, .time, .blob:
            var schema = ColumnSchema.values(key, nullable: false)
            schema["minLength"] = 1
            return schema
        }
    }

    // MARK: POST /{collection}

    private var create: DocumentValue {
        let newItem = schemaReference(names.create)
        let keyPointer = "$response.body#/" + names.collection.primaryKey.name.replacing("~", with: "~0").replacing("/", with: "~1")
        var links: [(String, DocumentValue)] = []
        let targets = [
            (names.getOperation, "Get"), (names.replaceOperation, "Replace"), (names.patchOperation, "Patch"), (names.deleteOperation, "Delete"),
        ]
        for (operation, verb) in targets {
            links.append((verb + names.item, [
                "operationId": .string(operation),
                "parameters": ["id": .string(keyPointer)],
                "description": "The created item (for an object body).",
            ]))
        }
        var responses: [(String, DocumentValue)] = [
            ("201", [
                "description": .string(Texts.created),
                "headers": successHeaders([("Location", header("Location")), ("ETag", header("ETag"))]),
                "content": json(["oneOf": [schemaReference(names.item), ["type": "array", "items": schemaReference(names.item)]]]),
                "links": .object(ordered: links),
            ]),
            ("400", response("BadRequest")), ("409", response("Conflict")), ("413", response("PayloadTooLarge")),
            ("415", response("UnsupportedMediaType")), ("422", response("UnprocessableEntity")),
        ]
        responses += [("500", response("InternalServerError")), ("503", response("ServiceUnavailable")), ("507", response("InsufficientStorage"))]
        return [
            "operationId": .string(names.createOperation),
            "tags": [.string(names.tag)],
            "summary": .string("Create one or more items of \(collection.name)"),
            "description": .string(Texts.create),
            "parameters": [requestID],
            "requestBody": [
                "required": true,
                "content": json(["oneOf": [newItem, ["type": "array", "items": newItem]]]),
            ],
            "responses": AccessControl.guarded(responses),
        ]
    }

    // MARK: GET /{collection}/{id}

    private var read: DocumentValue {
        [
            "operationId": .string(names.getOperation),
            "tags": [.string(names.tag)],
            "summary": .string("Get an item of \(collection.name)"),
            "description": "`HEAD` answers the same without a body.",
            "parameters": [Parameters.reference("IfNoneMatchRead"), requestID],
            "responses": AccessControl.guarded([
                ("200", [
                    "description": "The item.",
                    "headers": successHeaders([("ETag", header("ETagRequired"))]),
                    "content": json(schemaReference(names.item)),
                ]),
                ("304", [
                    "description": "Not modified: `If-None-Match` matches the current `ETag` (or is `*`).",
                    "headers": successHeaders([("ETag", header("ETagRequired"))]),
                ]),
                ("400", response("BadRequest")),
                ("404", response("NotFound")),
                ("500", response("InternalServerError")),
                ("503", response("ServiceUnavailable")),
            ]),
        ]
    }

    /// The errors of a PUT or PATCH of one item.
    private var itemWriteErrors: [(String, DocumentValue)] {
        var responses: [(String, DocumentValue)] = [("400", response("BadRequest")), ("404", response("NotFound"))]
        if hasOtherUniqueConstraint { responses.append(("409", response("Conflict"))) }
        return responses + [
            ("412", response("PreconditionFailed")), ("413", response("PayloadTooLarge")), ("415", response("UnsupportedMediaType")),
            ("422", response("UnprocessableEntity")), ("500", response("InternalServerError")), ("503", response("ServiceUnavailable")),
            ("507", response("InsufficientStorage")),
        ]
    }

    // MARK: PUT /{collection}/{id}

    private var replace: DocumentValue {
        let responses: [(String, DocumentValue)] = [
            ("200", [
                "description": "Replaced: the stored item.",
                "headers": successHeaders([("ETag", header("ETagRequired"))]),
                "content": json(schemaReference(names.item)),
            ]),
            ("201", [
                "description": "Created: there was no item with this id.",
                "headers": successHeaders([("ETag", header("ETagRequired")), ("Location", header("LocationRequired"))]),
                "content": json(schemaReference(names.item)),
            ]),
        ] + itemWriteErrors
        return [
            "operationId": .string(names.replaceOperation),
            "tags": [.string(names.tag)],
            "summary": .string("Replace or create an item of \(collection.name)"),
            "description": .string(Texts.replace),
            "parameters": [Parameters.reference("IfMatch"), Parameters.reference("IfNoneMatchWrite"), requestID],
            "requestBody": ["required": true, "content": json(schemaReference(names.replace))],
            "responses": AccessControl.guarded(responses),
        ]
    }

    // MARK: PATCH /{collection}/{id}

    private var patch: DocumentValue {
        let body: DocumentValue = ["schema": schemaReference(names.patch)]
        let responses: [(String, DocumentValue)] = [
            ("200", [
                "description": "Patched: the stored item.",
                "headers": successHeaders([("ETag", header("ETagRequired"))]),
                "content": json(schemaReference(names.item)),
            ]),
        ] + itemWriteErrors
        return [
            "operationId": .string(names.patchOperation),
            "tags": [.string(names.tag)],
            "summary": .string("Patch an item of \(collection.name)"),
            "description": "JSON Merge Patch (RFC 7396). `If-Match` on a missing item is 412, not 404.",
            "parameters": [Parameters.reference("IfMatch"), requestID],
            "requestBody": ["required": true, "content": ["application/merge-patch+json": body, "application/json": body]],
            "responses": AccessControl.guarded(responses),
        ]
    }

    // MARK: DELETE /{collection}/{id}

    private var delete: DocumentValue {
        var responses: [(String, DocumentValue)] = [
            ("204", ["description": "Deleted.", "headers": successHeaders([])]),
            ("400", response("BadRequest")), ("404", response("NotFound")),
        ]
        let conflicts = deleteConflicts
        if conflicts.referenced { responses.append(("409", response("Conflict"))) }
        responses.append(("412", response("PreconditionFailed")))
        if conflicts.notNull { responses.append(("422", response("UnprocessableEntity"))) }
        responses += [("500", response("InternalServerError")), ("503", response("ServiceUnavailable")), ("507", response("InsufficientStorage"))]
        return [
            "operationId": .string(names.deleteOperation),
            "tags": [.string(names.tag)],
            "summary": .string("Delete an item of \(collection.name)"),
            "description": "`If-Match` on a missing item is 412, not 404.",
            "parameters": [Parameters.reference("IfMatch"), requestID],
            "responses": AccessControl.guarded(responses),
        ]
    }
}
