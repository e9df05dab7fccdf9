// The component schemas of one collection's items: as returned, listed, created, replaced,
// patched, and as a change event.

import FeedbaseStore

/// The schemas of one collection's items: as returned, as listed (`select` may leave keys out),
/// as created, replaced and patched, and as a change event.
struct ItemSchemas {
    let names: CollectionNames
    let schema: Schema

    var collection: CollectionSchema { names.collection }

    private enum Use { case item, listItem, create, replace, patch }

    var item: DocumentValue { object(.item) }
    var listItem: DocumentValue { object(.listItem) }
    var create: DocumentValue { object(.create) }
    var replace: DocumentValue { object(.replace) }
    var patch: DocumentValue { object(.patch) }

    var change: DocumentValue {
        [
            "type": "object",
            "description": .string("A change to an item of `\(collection.name)`."),
            "properties": [
                "seq": ["type": "integer", "format": "int64", "minimum": 1, "description": "The change's place in the log, strictly increasing."],
                // Typed, so generators make the discriminator a string enum rather than an untyped value.
                "collection": ["type": "string", "const": .string(collection.name)],
                "op": ["type": "string", "enum": ["create", "update", "delete"]],
                "id": ["type": "string", "description": "The item's primary key, as text."],
                "item": ["$ref": .string("#/components/schemas/" + names.item)],
                "at": ["type": "string", "format": "date-time", "description": "Commit time, UTC with milliseconds."],
            ],
            "required": ["seq", "collection", "op", "id", "item", "at"],
            "additionalProperties": false,
        ]
    }

    private func object(_ use: Use) -> DocumentValue {
        var properties: [(String, DocumentValue)] = []
        var required: [DocumentValue] = []
        for column in collection.columns {
            let writable = !column.isGenerated
            let serverAssignedKey = column.isPrimaryKey && collection.keyAssignment != .client
            let nullable: Bool
            switch use {
            case .item, .listItem:
                nullable = column.nullable
                if use == .item { required.append(.string(column.name)) }
            case .create:
                guard writable else { continue }
                nullable = column.nullable || serverAssignedKey
                if column.isRequiredOnCreate || (column.isPrimaryKey && collection.keyAssignment == .client) {
                    required.append(.string(column.name))
                }
            case .replace:
                guard writable, !column.isPrimaryKey else { continue }
                nullable = column.nullable
                if column.isRequiredOnCreate { required.append(.string(column.name)) }
            case .patch:
                guard writable, !column.isPrimaryKey else { continue }
                nullable = column.nullable
            }
            var property = ColumnSchema.values(column, nullable: nullable)
            property["description"] = .string(ColumnSchema.description(column, in: collection, schema: schema))
            if use == .create || use == .replace, let value = ColumnSchema.defaultValue(column) { property["default"] = value }
            if column.isGenerated { property["readOnly"] = true }
            properties.append((column.name, property))
        }
        var object: DocumentValue = ["type": "object", "description": .string(description(use))]
        object["properties"] = .object(ordered: properties)
        if !required.isEmpty { object["required"] = .array(required) }
        object["additionalProperties"] = false
        return object
    }

    private func description(_ use: Use) -> String {
        let name = collection.name
        switch use {
        case .item:
            return "An item of `\(name)`, as GET returns it: every column, keys in table order."
        case .listItem:
            return "An item of `\(name)` in a listing: every column, or only those named by `select`, in that order."
        case .create:
            return "A new item of `\(name)`: columns left out take their default (or NULL). Unknown or duplicate fields are refused with 400."
        case .replace:
            return "The whole new state of an item of `\(name)`: columns left out become their default (or NULL). The key comes from the URL."
        case .patch:
            return "A JSON Merge Patch (RFC 7396) of an item of `\(name)`: keys present are set, `null` clears a nullable column; "
                + "an object given to a JSON column merges into its value. The key cannot change."
        }
    }
}
