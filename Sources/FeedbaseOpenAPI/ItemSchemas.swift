// The component schemas of one collection's items: as returned, listed, created, replaced,
// patched, and as a change event, of the whole feed or of a band.

import FeedbaseModel

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
        changeObject(
            .string("A change to an item of `\(collection.name)`."), ops: ["create", "update", "delete"], band: false,
            item: "#/components/schemas/" + names.item)
    }

    /// A band's message about an item: the change event with the band's op and the item narrowed
    /// to `select` (so every key is optional); with `band`, the band's name after `seq`, as the
    /// WebSocket and SSE send it (`/_changes/{collection}` does not).
    func bandChange(band: Bool) -> DocumentValue {
        changeObject(
            .string(Texts.bandChange(collection.name)), ops: ["create", "update", "delete", "enter", "leave"], band: band,
            item: "#/components/schemas/" + names.listItem)
    }

    /// A page of `/_changes/{collection}`.
    var bandChanges: DocumentValue {
        [
            "type": "object",
            "properties": [
                "changes": ["type": "array", "items": ["$ref": .string("#/components/schemas/" + names.bandChange)]],
                "last_seq": ["type": "integer", "format": "int64", "minimum": 0, "description": .string(Texts.bandLastSeq)],
            ],
            "required": ["changes", "last_seq"],
            "additionalProperties": false,
        ]
    }

    private func changeObject(_ description: DocumentValue, ops: [DocumentValue], band: Bool, item: String) -> DocumentValue {
        var properties: [(String, DocumentValue)] = [
            ("seq", ["type": "integer", "format": "int64", "minimum": 1, "description": "The change's place in the log, strictly increasing."]),
        ]
        var required: [DocumentValue] = ["seq"]
        if band {
            properties.append(("band", ["type": "string", "description": "The band's name, as `subscribed` gave it."]))
            required.append("band")
        }
        properties += [
            // Typed, so generators make the discriminator a string enum rather than an untyped value.
            ("collection", ["type": "string", "const": .string(collection.name)]),
            ("op", ["type": "string", "enum": .array(ops)]),
            ("id", ["type": "string", "description": "The item's primary key, as text."]),
            ("item", ["$ref": .string(item)]),
            ("at", ["type": "string", "format": "date-time", "description": "Commit time, UTC with milliseconds."]),
        ]
        required += ["collection", "op", "id", "item", "at"]
        return [
            "type": "object",
            "description": description,
            "properties": .object(ordered: properties),
            "required": .array(required),
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
        if use == .listItem { properties += relationProperties }
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
            return "An item of `\(name)` in a listing: every column, or only those named by `select`, in that order, then the "
                + "related items `select` embeds."
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
