// The server's self-description, generated from the live schema: an OpenAPI 3.1 document of the
// REST API (every route, parameter, header and status the handlers of FeedbaseHTTP produce) and an
// AsyncAPI 3.0 document of the WebSocket feed (AsyncAPIDocument.swift). Both are plain values
// (DocumentValue); the same schema always gives the same bytes. This file holds the OpenAPI
// document's top level: info, servers, tags, and the order of paths and component schemas.
//
// Parameter and body schemas describe exactly what the server accepts, so that a client (or a
// fuzzer) that keeps to them is never refused for the shape of its input: filter values carry
// patterns of their operator syntax, strings exclude NUL (refused with 422), times are
// `HH:MM:SS[.fraction]` without an offset (not JSON Schema's `time` format), and bodies are
// closed (`additionalProperties: false`) because unknown fields are refused with 400.

import FeedbaseModel

public enum OpenAPIDocument {
    /// The version of the HTTP contract these documents describe (docs/API.md).
    static let apiVersion = "0.1.0"
    static let defaultServerURL = "http://localhost:8080"

    /// The OpenAPI 3.1.0 document of a server serving `schema`; `feed` adds the change feed's
    /// routes and the `X-Change-Seq` headers.
    public static func openAPI(for schema: Schema, feed: Bool, serverURL: String?) -> DocumentValue {
        let names = CollectionNames.assign(schema)
        var paths: [(String, DocumentValue)] = [("/", ServiceOperations.index), ("/_health", ServiceOperations.health), ("/_ready", ServiceOperations.readiness)]
        if feed {
            // Each band's `/_changes/{collection}` after the whole feed's `/_changes`.
            paths.append(("/_changes", ServiceOperations.changes(names)))
            for collection in names {
                paths.append((collection.changesPath, CollectionOperations(names: collection, schema: schema, feed: feed).changesPath))
            }
            paths.append(("/_feed", ServiceOperations.feed(names)))
        }
        for collection in names {
            let operations = CollectionOperations(names: collection, schema: schema, feed: feed)
            paths += [(collection.path, operations.collectionPath), (collection.itemPath, operations.itemPath)]
        }

        paths.append(("/_batch", ServiceOperations.batch(names, feed: feed)))
        paths += ServiceOperations.documents(feed: feed)

        var schemas: [(String, DocumentValue)] = []
        for collection in names {
            let shapes = ItemSchemas(names: collection, schema: schema)
            schemas += [
                (collection.item, shapes.item), (collection.listItem, shapes.listItem), (collection.create, shapes.create),
                (collection.replace, shapes.replace), (collection.patch, shapes.patch),
            ]
            if let conditions = CollectionOperations(names: collection, schema: schema, feed: feed).conditionsSchema {
                schemas.append((collection.conditions, conditions))
            }
            if feed {
                schemas += [(collection.change, shapes.change), (collection.bandChange, shapes.bandChange(band: false)), (collection.bandChanges, shapes.bandChanges)]
            }
        }
        if feed {
            schemas += [("ChangeEvent", ChangeSchemas.event(names, discriminator: true)), ("Changes", ChangeSchemas.changes)]
        }
        schemas += ServiceOperations.batchSchemas(names)
        schemas += [
            ("JSONValue", ColumnSchema.jsonValue), ("Problem", Components.problem),
            ("Index", Components.index(feed: feed)), ("Health", Components.health), ("Readiness", Components.readiness),
        ]

        var tags: [DocumentValue] = names.map { ["name": .string($0.tag), "description": .string("The items of the `\($0.tag)` table.")] }
        // A collection named like a fixed tag shares it: tag names are unique.
        let tagNames = Set(names.map(\.tag))
        if feed, !tagNames.contains("feed") { tags.append(["name": "feed", "description": "The change feed: every committed change, in order."]) }
        if !tagNames.contains("service") {
            tags.append(["name": "service", "description": "The index, health and the documents that describe this server."])
        }

        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Feedbase",
                "version": .string(apiVersion),
                "description": .string(Texts.openAPIDescription(feed: feed)),
            ],
            "servers": [["url": .string(serverURL ?? defaultServerURL)]],
            "security": AccessControl.optionalBearer,
            "tags": .array(tags),
            "paths": .object(ordered: paths),
            "components": [
                "schemas": .object(ordered: schemas),
                "parameters": Components.parameters,
                "headers": Components.headers,
                "responses": Components.responses,
                "securitySchemes": AccessControl.openAPISchemes(feed: feed),
            ],
        ]
    }
}
