// The server's self-description, generated from the live schema: an OpenAPI 3.1 document of the
// REST API (every route, parameter, header and status the handlers in API.swift and
// FeedRoutes.swift produce) and an AsyncAPI 3.0 document of the WebSocket feed. Both are plain
// values (DocumentValue); the same schema always gives the same bytes.
//
// Parameter and body schemas describe exactly what the server accepts, so that a client (or a
// fuzzer) that keeps to them is never refused for the shape of its input: filter values carry
// patterns of their operator syntax, strings exclude NUL (refused with 422), times are
// `HH:MM:SS[.fraction]` without an offset (not JSON Schema's `time` format), and bodies are
// closed (`additionalProperties: false`) because unknown fields are refused with 400.

import FeedbaseStore

public enum OpenAPIDocument {
    /// The version of the HTTP contract these documents describe (docs/API.md).
    public static let apiVersion = "0.1.0"
    static let defaultServerURL = "http://localhost:8080"

    /// The OpenAPI 3.1.0 document of a server serving `schema`; `feed` adds the change feed's
    /// routes and the `X-Change-Seq` headers.
    public static func openAPI(for schema: Schema, feed: Bool, serverURL: String?) -> DocumentValue {
        let names = CollectionNames.assign(schema)
        var paths: [(String, DocumentValue)] = [("/", ServiceOperations.index), ("/_health", ServiceOperations.health)]
        if feed {
            paths += [("/_changes", ServiceOperations.changes(names)), ("/_feed", ServiceOperations.feed(names))]
        }
        for collection in names {
            let operations = CollectionOperations(names: collection, schema: schema, feed: feed)
            paths += [(collection.path, operations.collectionPath), (collection.itemPath, operations.itemPath)]
        }
        paths += ServiceOperations.documents(feed: feed)

        var schemas: [(String, DocumentValue)] = []
        for collection in names {
            let shapes = ItemSchemas(names: collection, schema: schema)
            schemas += [
                (collection.item, shapes.item), (collection.listItem, shapes.listItem), (collection.create, shapes.create),
                (collection.replace, shapes.replace), (collection.patch, shapes.patch),
            ]
            if feed { schemas.append((collection.change, shapes.change)) }
        }
        if feed {
            schemas += [("ChangeEvent", ChangeSchemas.event(names, discriminator: true)), ("Changes", ChangeSchemas.changes)]
        }
        schemas += [
            ("JSONValue", ColumnSchema.jsonValue), ("Problem", Components.problem),
            ("Index", Components.index(feed: feed)), ("Health", Components.health),
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
            "tags": .array(tags),
            "paths": .object(ordered: paths),
            "components": [
                "schemas": .object(ordered: schemas),
                "parameters": Components.parameters,
                "headers": Components.headers,
                "responses": Components.responses,
            ],
        ]
    }

    /// The AsyncAPI 3.0.0 document of the WebSocket feed (`GET /_feed` with `Upgrade: websocket`),
    /// written from a subscriber's side: the application it describes receives the changes.
    public static func asyncAPI(for schema: Schema, serverURL: String?) -> DocumentValue {
        let names = CollectionNames.assign(schema)
        let endpoint = WebSocketEndpoint(serverURL ?? defaultServerURL)
        var server: DocumentValue = [
            "host": .string(endpoint.host),
            "protocol": .string(endpoint.protocolName),
            "description": "The Feedbase server; the feed shares the port of the REST API.",
        ]
        if let pathname = endpoint.pathname { server["pathname"] = .string(pathname) }

        var schemas: [(String, DocumentValue)] = []
        for collection in names {
            let shapes = ItemSchemas(names: collection, schema: schema)
            schemas += [(collection.item, shapes.item), (collection.change, shapes.change)]
        }
        schemas += [
            ("ChangeEvent", ChangeSchemas.event(names, discriminator: false)), ("Ready", ChangeSchemas.ready),
            ("Reset", ChangeSchemas.reset), ("JSONValue", ColumnSchema.jsonValue),
        ]
        let messageNames = ["change", "ready", "reset"]

        return [
            "asyncapi": "3.0.0",
            "info": [
                "title": "Feedbase change feed",
                "version": .string(apiVersion),
                "description": .string(Texts.asyncAPIDescription),
            ],
            "defaultContentType": "application/json",
            "servers": ["feedbase": server],
            "channels": [
                "feed": [
                    "address": "/_feed",
                    "title": "The change feed",
                    "description": .string(Texts.feedChannelDescription),
                    "messages": .object(ordered: messageNames.map { ($0, ["$ref": .string("#/components/messages/" + $0)]) }),
                    "bindings": [
                        "ws": [
                            "method": "GET",
                            "query": ChangeSchemas.feedQuery(names),
                            "bindingVersion": "0.1.0",
                        ],
                    ],
                ],
            ],
            "operations": [
                "receiveChanges": [
                    "action": "receive",
                    "channel": ["$ref": "#/channels/feed"],
                    "summary": "Receive the backlog after `since`, a ready marker, then every change as it commits.",
                    "messages": .array(messageNames.map { ["$ref": .string("#/channels/feed/messages/" + $0)] }),
                ],
            ],
            "components": [
                "messages": ChangeSchemas.messages,
                "schemas": .object(ordered: schemas),
            ],
        ]
    }
}

// MARK: Names

/// The names one collection gets in the documents: `tasks` → schemas `Task`, `TaskCreate`, ...,
/// operations `listTasks`, `createTask`, `getTask`, ...
struct CollectionNames: Sendable {
    let collection: CollectionSchema
    /// The item's component name (`Task`).
    let item: String
    /// The list operation's noun (`Tasks`).
    let plural: String

    var tag: String { collection.name }
    var path: String { "/" + PercentEncoding.encode(collection.name) }
    var itemPath: String { path + "/{id}" }

    var listItem: String { item + "ListItem" }
    var create: String { item + "Create" }
    var replace: String { item + "Replace" }
    var patch: String { item + "Patch" }
    var change: String { item + "Change" }

    var listOperation: String { "list" + plural }
    var createOperation: String { "create" + item }
    var getOperation: String { "get" + item }
    var replaceOperation: String { "replace" + item }
    var patchOperation: String { "patch" + item }
    var deleteOperation: String { "delete" + item }

    var allNames: [String] {
        [item, listItem, create, replace, patch, change, listOperation, createOperation, getOperation, replaceOperation,
            patchOperation, deleteOperation]
    }

    /// Component names and operation ids the documents use for themselves.
    static let fixedNames: Set<String> = [
        "ChangeEvent", "Changes", "JSONValue", "Problem", "Index", "Health", "Ready", "Reset",
        "getIndex", "getHealth", "listChanges", "subscribeFeed", "getOpenAPIJSON", "getOpenAPIYAML", "getAsyncAPIJSON",
    ]

    /// Paths the server keeps for itself: a table of that name is not described.
    static let reservedPaths: Set<String> = ["/openapi.json", "/openapi.yaml", "/asyncapi.json"]

    /// Names for every described collection, in schema order. A singular that collides (`task`
    /// and `tasks` both give `Task`) falls back to the PascalCased collection name, then to a
    /// numbered one, so every component name and operation id is unique.
    static func assign(_ schema: Schema) -> [CollectionNames] {
        var used = fixedNames
        var assigned: [CollectionNames] = []
        for collection in schema.collections {
            guard !collection.name.isEmpty, !collection.name.hasPrefix("_"),
                !reservedPaths.contains("/" + PercentEncoding.encode(collection.name))
            else { continue }
            let plural = pascalCase(collection.name)
            var candidates = [(pascalCase(singular(collection.name)), plural), (plural, plural)]
            candidates += (2...(schema.collections.count + 2)).map { (plural + String($0), plural + String($0)) }
            for (item, noun) in candidates {
                let names = CollectionNames(collection: collection, item: item, plural: noun)
                guard Set(names.allNames).count == names.allNames.count, used.isDisjoint(with: names.allNames) else { continue }
                used.formUnion(names.allNames)
                assigned.append(names)
                break
            }
        }
        return assigned
    }

    /// `tasks` → `task`, `categories` → `category`, `addresses` → `address`, `statuses` →
    /// `status`, `boxes` → `box`, `responses` → `response`; words that are not plurals of this
    /// kind (`status`, `class`, `analysis`) stay.
    static func singular(_ name: String) -> String {
        let lower = name.lowercased()
        func dropping(_ count: Int, adding suffix: String = "") -> String { String(name.dropLast(count)) + suffix }
        if lower.hasSuffix("ies"), lower.count > 3 { return dropping(3, adding: "y") }
        if lower.hasSuffix("sses") || lower.hasSuffix("xes") || lower.hasSuffix("ches") || lower.hasSuffix("shes")
            || lower.hasSuffix("zzes")
        {
            return dropping(2)
        }
        if lower.hasSuffix("uses"), !lower.hasSuffix("ouses"), !lower.hasSuffix("auses") { return dropping(2) }
        if lower.hasSuffix("ss") || lower.hasSuffix("us") || lower.hasSuffix("is") { return name }
        if lower.hasSuffix("s"), lower.count > 1 { return dropping(1) }
        return name
    }

    /// ASCII letters and digits of `name`, each word capitalised: `order_items` → `OrderItems`.
    static func pascalCase(_ name: String) -> String {
        var out = ""
        var startOfWord = true
        for scalar in name.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9":
                out += startOfWord ? String(scalar).uppercased() : String(scalar)
                startOfWord = false
            default:
                startOfWord = true
            }
        }
        return out.isEmpty ? "Collection" : out
    }
}

// MARK: Value syntax

/// Regular expressions (ECMA 262, as JSON Schema reads them) of what the server accepts as text:
/// in filter operands, in path segments. Each is exact where the server's rule is regular.
enum ValueSyntax {
    static let int64 = "[+-]?[0-9]{1,18}"
    static let number = "[+-]?[0-9]{1,15}(?:\\.[0-9]{1,15})?(?:[eE][+-]?[0-9]{1,2})?"
    static let boolean = "(?:true|false)"
    /// A calendar day `YYYY-MM-DD` (Timestamp.isValidDate), leap years included.
    static let date =
        "(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
        + "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
    /// `HH:MM:SS[.f{1,9}]` (Timestamp.isValidTime): no leap second, no offset.
    static let time = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?"
    /// Timestamp.normalizeDateTime: `T`, `t` or a space; `Z`, `z` or `±HH:MM`. (In a query string
    /// a space may be sent as `+`, and a plus must be sent as `%2B`.)
    static let dateTime = date + "[Tt ]" + time + "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
    /// Canonical standard base64, padded or not (Base64.decode).
    static let base64 = "(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw](?:==)?|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=?)?"
    static let anyText = "[\\s\\S]*"
    /// Strings the server stores: no NUL (RequestBody.containsEscapedNUL).
    static let storableString = "^[^\\x00]*$"
    /// An HTTP/1.1 field value (RFC 9110 section 5.5): tab, space, visible ASCII and obs-text.
    static let fieldValue = "^[\\t\\x20-\\x7e\\x80-\\xff]*$"

    /// An operand of `column`'s type as written in a URL.
    static func operand(_ type: ColumnType) -> String {
        switch type {
        case .integer: int64
        case .number: number
        case .boolean: boolean
        case .date: date
        case .time: time
        case .dateTime: dateTime
        case .blob: base64
        case .string, .json: anyText
        }
    }

    /// The items of `in.(...)`: typed operands separated by commas, or, for text, items that may
    /// be quoted (`"a,b"`, with `\` escaping) (QueryParameters.list).
    static func list(_ type: ColumnType) -> String {
        switch type {
        case .string, .json:
            let item = #"(?:"(?:[^"\\]|\\[\s\S])*"|[^,"][^,]*)?"#
            return item + "(?:," + item + ")*"
        default:
            let item = operand(type)
            return "(?:" + item + "(?:," + item + ")*)?"
        }
    }

    /// One value (one condition) of a filter parameter on `column`: `[not.]op.operand` with the
    /// operators its type takes (Listing.condition).
    static func filter(_ type: ColumnType) -> String {
        var alternatives = ["(?:eq|neq)\\." + operand(type)]
        if ![.boolean, .blob, .json].contains(type) { alternatives.append("(?:gt|gte|lt|lte)\\." + operand(type)) }
        if [.string, .dateTime, .date, .time, .json].contains(type) { alternatives.append("i?like\\." + anyText) }
        alternatives.append("in\\.\\(" + list(type) + "\\)")
        alternatives.append(type == .boolean ? "is\\.(?:null|true|false)" : "is\\.null")
        return "^(?:not\\.)?(?:" + alternatives.joined(separator: "|") + ")$"
    }

    /// The operators a column of `type` takes, for descriptions.
    static func operators(_ type: ColumnType) -> [String] {
        var names = ["eq", "neq"]
        if ![.boolean, .blob, .json].contains(type) { names += ["gt", "gte", "lt", "lte"] }
        if [.string, .dateTime, .date, .time, .json].contains(type) { names += ["like", "ilike"] }
        names += ["in", "is"]
        return names
    }

    /// `text` as a regular expression matching itself. Only ECMA 262's syntax characters are
    /// escaped: an identity escape of anything else (`\-`) is an error in Unicode mode.
    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            if "\\^$.|?*+()[]{}".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    static func alternation(_ words: [String]) -> String {
        "(?:" + words.map(escaped).joined(separator: "|") + ")"
    }
}

// MARK: Column schemas

/// The JSON Schema of one column's values, and its description.
enum ColumnSchema {
    /// Any JSON value whose strings (keys included) hold no NUL: the empty schema, with the NUL rule
    /// in words. Not an `anyOf` of the JSON types with a `null` branch: swift-openapi-generator keeps
    /// only the first type of `type: [null, boolean, number]` (numbers would not decode) and drops a
    /// `{type: null}` branch with its whole schema; the empty schema is "any value" to every generator.
    static let jsonValue: DocumentValue = [
        "description": "Any JSON value. Strings, keys included, cannot hold U+0000.",
    ]

    /// A JSON value that is not null, one branch per type (one type per branch, for the same reason).
    static func jsonBranches() -> [DocumentValue] {
        let nested: DocumentValue = ["$ref": "#/components/schemas/JSONValue"]
        return [
            ["type": "boolean"],
            ["type": "number"],
            ["type": "string", "pattern": .string(ValueSyntax.storableString)],
            ["type": "array", "items": nested],
            ["type": "object", "propertyNames": ["pattern": .string(ValueSyntax.storableString)], "additionalProperties": nested],
        ]
    }

    /// The schema of `column`'s values (`null` included when `nullable`), without a description.
    static func values(_ column: Column, nullable: Bool) -> DocumentValue {
        func typed(_ name: String) -> DocumentValue { nullable ? [.string(name), "null"] : .string(name) }
        switch column.type {
        case .boolean:
            return ["type": typed("boolean")]
        case .integer:
            return ["type": typed("integer"), "format": "int64", "minimum": .integer(Int64.min), "maximum": .integer(Int64.max)]
        case .number:
            return ["type": typed("number"), "format": "double"]
        case .string:
            return ["type": typed("string"), "pattern": .string(ValueSyntax.storableString)]
        case .dateTime:
            return ["type": typed("string"), "format": "date-time"]
        case .date:
            return ["type": typed("string"), "format": "date"]
        case .time:
            return ["type": typed("string"), "pattern": .string("^" + ValueSyntax.time + "$")]
        case .blob:
            return ["type": typed("string"), "format": "byte", "contentEncoding": "base64"]
        case .json:
            // Nullable: any JSON value at all, like JSONValue.
            return nullable ? [:] : ["anyOf": .array(jsonBranches())]
        }
    }

    /// What a reader of the document needs to know about `column` beyond its type.
    static func description(_ column: Column, in collection: CollectionSchema, schema: Schema) -> String {
        var sentences: [String] = []
        sentences.append(typeDescription(column.type) + ".")
        sentences.append(column.declaredType.isEmpty ? "No declared SQL type." : "SQL type `\(column.declaredType)`.")
        if column.isPrimaryKey {
            switch collection.keyAssignment {
            case .serverInteger: sentences.append("Primary key; when a create omits it (or sends null), SQLite assigns the next integer.")
            case .serverText: sentences.append("Primary key; when a create omits it (or sends null), the server assigns a UUIDv7.")
            case .client: sentences.append("Primary key, chosen by the client: required on create.")
            }
        } else if column.isUnique {
            sentences.append("Unique: a second item with the same value is refused with 409.")
        }
        if let reference = column.references {
            let parentColumn = reference.parentColumn ?? schema[reference.table]?.primaryKey.name ?? "rowid"
            var text = "References `\(reference.table)(\(parentColumn))`: a value with no such item is refused with 422"
            if reference.onDelete.uppercased() != "NO ACTION" { text += "; on delete of the parent: \(reference.onDelete.uppercased())" }
            sentences.append(text + ".")
        }
        if let defaultSQL = column.defaultSQL { sentences.append("Default: `\(defaultSQL)`.") }
        if column.isGenerated { sentences.append("Generated by SQLite: read-only.") }
        return sentences.joined(separator: " ")
    }

    static func typeDescription(_ type: ColumnType) -> String {
        switch type {
        case .boolean: "A boolean"
        case .integer: "A 64-bit integer"
        case .number: "A number (64-bit float; beyond its range, infinities and NaN are refused; written back with up to 17 significant digits)"
        case .string: "A string"
        case .dateTime: "An RFC 3339 date-time, stored and returned in UTC with milliseconds (`2026-11-25T09:30:00.000Z`)"
        case .date: "An RFC 3339 full-date `YYYY-MM-DD`"
        case .time: "A time `HH:MM:SS[.fraction]` (up to nine fraction digits, no offset)"
        case .blob: "Bytes, as canonical standard base64 (RFC 4648 section 4; padding optional on input)"
        case .json: "Any JSON value whose strings, keys included, hold no U+0000"
        }
    }

    private static func trimmed(_ text: some StringProtocol) -> String {
        String(text.drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }

    /// The JSON value of a DEFAULT clause that is a plain literal of the column's type, or nil
    /// (expressions such as `strftime(...)` are only described).
    static func defaultValue(_ column: Column) -> DocumentValue? {
        guard var text = column.defaultSQL.map(trimmed) else { return nil }
        while text.hasPrefix("("), text.hasSuffix(")") { text = trimmed(text.dropFirst().dropLast()) }
        if text.uppercased() == "NULL" { return column.nullable ? .null : nil }
        switch column.type {
        case .boolean:
            switch text.uppercased() {
            case "TRUE": return true
            case "FALSE": return false
            default: return Int64(text).map { .bool($0 != 0) }
            }
        case .integer:
            return Int64(text).map(DocumentValue.integer)
        case .number:
            if let integer = Int64(text) { return .integer(integer) }
            guard text.allSatisfy({ "0123456789.eE+-".contains($0) }), let number = Double(text), number.isFinite else { return nil }
            return .number(number)
        case .string:
            guard text.count >= 2, text.hasPrefix("'"), text.hasSuffix("'") else { return nil }
            let inner = text.dropFirst().dropLast()
            // '' is a quote inside a SQL string literal; a lone quote means this is no literal.
            guard !inner.replacing("''", with: "").contains("'") else { return nil }
            let value = String(inner.replacing("''", with: "'"))
            return value.contains("\u{0}") ? nil : .string(value)
        case .dateTime, .date, .time, .blob, .json:
            return nil
        }
    }
}

// MARK: Item schemas

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

// MARK: Change feed schemas

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

// MARK: Parameters

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

    static func query(_ name: String, _ schema: DocumentValue, _ description: String) -> DocumentValue {
        ["name": .string(name), "in": "query", "description": .string(description), "schema": schema]
    }

    static func reference(_ name: String) -> DocumentValue { ["$ref": .string("#/components/parameters/" + name)] }
}

// MARK: CollectionSchema operations

/// The six operations of one collection, with every status its handler (CollectionRoutes in
/// API.swift) and the store beneath it can answer.
struct CollectionOperations {
    let names: CollectionNames
    let schema: Schema
    let feed: Bool

    var collection: CollectionSchema { names.collection }

    var collectionPath: DocumentValue { ["get": list, "post": create] }

    var itemPath: DocumentValue {
        [
            "parameters": [idParameter],
            "get": read, "put": replace, "patch": patch, "delete": delete,
        ]
    }

    private func schemaReference(_ name: String) -> DocumentValue { ["$ref": .string("#/components/schemas/" + name)] }
    private func response(_ name: String) -> DocumentValue { ["$ref": .string("#/components/responses/" + name)] }
    private func header(_ name: String) -> DocumentValue { ["$ref": .string("#/components/headers/" + name)] }

    private var requestID: DocumentValue { Parameters.reference("RequestId") }

    /// A UNIQUE constraint other than the key can make a replace or patch conflict (409).
    private var hasOtherUniqueConstraint: Bool {
        collection.uniqueConstraints.contains { $0 != [collection.primaryKey.name] }
    }

    /// A reference from a collection that does not cascade can make a delete fail (422).
    private var deleteCanBeRestricted: Bool {
        schema.collections.contains { child in
            child.foreignKeys.contains { $0.table == collection.name && $0.onDelete.uppercased() != "CASCADE" }
        }
    }

    /// Response headers of a successful read or write.
    private func successHeaders(_ extra: [(String, DocumentValue)]) -> DocumentValue {
        var headers: [(String, DocumentValue)] = [("X-Request-Id", header("XRequestId"))]
        headers += extra
        if feed { headers.append(("X-Change-Seq", header("XChangeSeq"))) }
        return .object(ordered: headers)
    }

    private func json(_ schema: DocumentValue) -> DocumentValue { ["application/json": ["schema": schema]] }

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

    /// The id segment as SQLiteStore.keyValue reads it. It is never empty: `/tasks/` is the
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

    // MARK: GET /{collection}

    private var list: DocumentValue {
        var parameters: [DocumentValue] = []
        for column in collection.columns where !ListQuery.reservedParameters.contains(column.name) && !column.name.isEmpty {
            parameters.append(filterParameter(column))
        }
        if let order = orderParameter { parameters.append(order) }
        if let select = selectParameter { parameters.append(select) }
        parameters += [Parameters.reference("Limit"), Parameters.reference("Offset"), Parameters.reference("After")]
        parameters += [Parameters.reference("Prefer"), requestID]
        let okHeaders: [(String, DocumentValue)] = [
            ("Link", header("Link")), ("Content-Range", header("ContentRange")), ("Preference-Applied", header("PreferenceApplied")),
        ]
        return [
            "operationId": .string(names.listOperation),
            "tags": [.string(names.tag)],
            "summary": .string("List \(collection.name)"),
            "description": .string(Texts.listing),
            "parameters": .array(parameters),
            "responses": [
                "200": [
                    "description": "The page (possibly empty).",
                    "headers": successHeaders(okHeaders),
                    "content": json(["type": "array", "items": schemaReference(names.listItem)]),
                ],
                "400": response("BadRequest"),
                "500": response("InternalServerError"),
                "503": response("ServiceUnavailable"),
            ],
        ]
    }

    /// A filter on `column`: one condition per value, the parameter repeated for several
    /// (`priority=gte.2&priority=lte.4`), which the server ANDs (QueryParameters.listQuery keeps
    /// every one). An array exploded as a form, so that a generated client can send repeats.
    private func filterParameter(_ column: Column) -> DocumentValue {
        let operators = ValueSyntax.operators(column.type).joined(separator: ", ")
        let description =
            "Filter on `\(column.name)` (\(column.type.rawValue)): `op.value`, or `not.op.value`, with op one of \(operators). "
            + "`in.(a,b)` takes a list (quote items holding commas: `in.(\"a,b\",c)`); `is.null`"
            + (column.type == .boolean ? ", `is.true`, `is.false`" : "")
            + ". Values are parsed by the column's type; a value that does not parse is refused with 400. "
            + "Each value is one condition: repeat the parameter (`\(column.name)=...&\(column.name)=...`) and the "
            + "conditions AND together."
        return [
            "name": .string(column.name),
            "in": "query",
            "description": .string(description),
            "style": "form",
            "explode": true,
            "schema": [
                "type": "array",
                "items": ["type": "string", "pattern": .string(ValueSyntax.filter(column.type))],
                "minItems": 1,
            ],
        ]
    }

    /// `order`: distinct sortable columns (not blob or JSON), each `.asc` or `.desc`; the key may
    /// end the list (Listing.sortKeys). Nil when nothing can be ordered by.
    private var orderParameter: DocumentValue? {
        let key = collection.primaryKey
        let sortable = collection.columns.filter { column in
            column.type != .blob && column.type != .json && !column.name.isEmpty && !column.name.contains(",")
                && !column.name.hasSuffix(".asc") && !column.name.hasSuffix(".desc")
        }
        let others = sortable.filter { !$0.isPrimaryKey }.map(\.name)
        let keyIsSortable = sortable.contains { $0.isPrimaryKey }
        guard !others.isEmpty || keyIsSortable else { return nil }
        let direction = "(?:\\.(?:asc|desc))?"
        var lasts: [String] = []
        if !others.isEmpty { lasts.append(ValueSyntax.alternation(others) + direction) }
        if keyIsSortable { lasts.append(ValueSyntax.alternation([key.name]) + direction) }
        var pattern = "^"
        if !others.isEmpty {
            // No column twice (a repeated column is refused with 400).
            let names = ValueSyntax.alternation(others)
            pattern += "(?!(?:[^,]*,)*(" + names + ")" + direction + ",(?:[^,]*,)*\\1" + direction + "(?:,|$))"
            pattern += "(?:" + names + direction + ",)*"
        }
        pattern += "(?:" + lasts.joined(separator: "|") + ")$"
        return Parameters.query(
            "order", ["type": "string", "pattern": .string(pattern)],
            Texts.order)
    }

    private var selectParameter: DocumentValue? {
        let columns = collection.columns.map(\.name).filter { !$0.isEmpty && !$0.contains(",") }
        guard !columns.isEmpty else { return nil }
        let names = ValueSyntax.alternation(columns)
        return Parameters.query(
            "select", ["type": "string", "pattern": .string("^" + names + "(?:," + names + ")*$")],
            "Only these keys in each item, comma-separated, in this order (e.g. `id,title`).")
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
        responses += [("500", response("InternalServerError")), ("503", response("ServiceUnavailable"))]
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
            "responses": .object(ordered: responses),
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
            "responses": [
                "200": [
                    "description": "The item.",
                    "headers": successHeaders([("ETag", header("ETagRequired"))]),
                    "content": json(schemaReference(names.item)),
                ],
                "304": [
                    "description": "Not modified: `If-None-Match` matches the current `ETag` (or is `*`).",
                    "headers": successHeaders([("ETag", header("ETagRequired"))]),
                ],
                "400": response("BadRequest"),
                "404": response("NotFound"),
                "500": response("InternalServerError"),
                "503": response("ServiceUnavailable"),
            ],
        ]
    }

    /// The errors of a PUT or PATCH of one item.
    private var itemWriteErrors: [(String, DocumentValue)] {
        var responses: [(String, DocumentValue)] = [("400", response("BadRequest")), ("404", response("NotFound"))]
        if hasOtherUniqueConstraint { responses.append(("409", response("Conflict"))) }
        return responses + [
            ("412", response("PreconditionFailed")), ("413", response("PayloadTooLarge")), ("415", response("UnsupportedMediaType")),
            ("422", response("UnprocessableEntity")), ("500", response("InternalServerError")), ("503", response("ServiceUnavailable")),
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
            "responses": .object(ordered: responses),
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
            "responses": .object(ordered: responses),
        ]
    }

    // MARK: DELETE /{collection}/{id}

    private var delete: DocumentValue {
        var responses: [(String, DocumentValue)] = [
            ("204", ["description": "Deleted.", "headers": successHeaders([])]),
            ("400", response("BadRequest")), ("404", response("NotFound")), ("412", response("PreconditionFailed")),
        ]
        if deleteCanBeRestricted { responses.append(("422", response("UnprocessableEntity"))) }
        responses += [("500", response("InternalServerError")), ("503", response("ServiceUnavailable"))]
        return [
            "operationId": .string(names.deleteOperation),
            "tags": [.string(names.tag)],
            "summary": .string("Delete an item of \(collection.name)"),
            "description": "`If-Match` on a missing item is 412, not 404.",
            "parameters": [Parameters.reference("IfMatch"), requestID],
            "responses": .object(ordered: responses),
        ]
    }
}

// MARK: Service operations

/// `/`, `/_health`, the feed's two routes, and the three documents.
enum ServiceOperations {
    private static let requestID = Parameters.reference("RequestId")
    private static let requestIDHeader: DocumentValue = ["X-Request-Id": ["$ref": "#/components/headers/XRequestId"]]

    private static func response(_ name: String) -> DocumentValue { ["$ref": .string("#/components/responses/" + name)] }

    static let index: DocumentValue = [
        "get": [
            "operationId": "getIndex",
            "tags": ["service"],
            "summary": "The collections and the links of this server",
            "parameters": [requestID],
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

    static func changes(_ names: [CollectionNames]) -> DocumentValue {
        let limit: DocumentValue = ["type": "integer", "minimum": 1, "maximum": 1000, "default": 100]
        let wait: DocumentValue = ["type": "integer", "minimum": 0, "maximum": 60, "default": 0]
        return [
            "get": [
                "operationId": "listChanges",
                "tags": ["feed"],
                "summary": "Catch up on changes over plain HTTP",
                "description": .string(Texts.changes),
                "parameters": [
                    Parameters.query("since", Parameters.sinceSchema(Texts.changesSince), Texts.changesSince),
                    Parameters.query("collections", Parameters.collectionsSchema(names), Texts.collections),
                    Parameters.query("limit", limit, "At most this many events."),
                    Parameters.query("wait", wait, "Seconds to wait for an event when there is none yet."),
                    requestID,
                ],
                "responses": [
                    "200": [
                        "description": "Events (possibly none).",
                        "headers": [
                            "X-Request-Id": ["$ref": "#/components/headers/XRequestId"],
                            "X-Change-Seq": ["$ref": "#/components/headers/XChangeSeq"],
                        ],
                        "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Changes"]]],
                    ],
                    "400": response("BadRequest"),
                    "404": response("NotFound"),
                    "410": response("Gone"),
                    "500": response("InternalServerError"),
                    "503": response("ServiceUnavailable"),
                ],
            ],
        ]
    }

    static func feed(_ names: [CollectionNames]) -> DocumentValue {
        [
            "get": [
                "operationId": "subscribeFeed",
                "tags": ["feed"],
                "summary": "Subscribe to changes: Server-Sent Events or a WebSocket",
                "description": .string(Texts.feedOperationDescription),
                "parameters": [
                    Parameters.query("since", Parameters.sinceSchema(Texts.feedSince), Texts.feedSince),
                    Parameters.query("collections", Parameters.collectionsSchema(names), Texts.collections),
                    [
                        "name": "Last-Event-ID", "in": "header",
                        "description": "SSE resume point, used when `since` is absent (an `EventSource` sends it by itself).",
                        "schema": Components.fieldValue,
                    ],
                    requestID,
                ],
                "responses": [
                    "101": [
                        "description": .string(Texts.upgraded),
                        "headers": [
                            "Upgrade": ["required": true, "schema": ["type": "string", "enum": ["websocket"]]],
                            "Connection": ["required": true, "schema": ["type": "string"]],
                            "Sec-WebSocket-Accept": ["required": true, "schema": ["type": "string"]],
                        ],
                    ],
                    "200": [
                        "description": .string(Texts.eventStream),
                        "headers": [
                            "X-Request-Id": ["$ref": "#/components/headers/XRequestId"],
                            "Cache-Control": ["required": true, "schema": ["type": "string", "enum": ["no-store"]]],
                        ],
                        "content": ["text/event-stream": ["schema": ["type": "string"]]],
                    ],
                    "400": response("BadRequest"),
                    "404": response("NotFound"),
                    "410": response("Gone"),
                    "500": response("InternalServerError"),
                    "503": response("ServiceUnavailable"),
                ],
            ],
        ]
    }

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

// MARK: Shared components

enum Components {
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

    static func index(feed: Bool) -> DocumentValue {
        var properties: [(String, DocumentValue)] = [
            ("collections", [
                "type": "array",
                "items": [
                    "type": "object",
                    "properties": ["name": ["type": "string"], "url": ["type": "string"]],
                    "required": ["name", "url"],
                    "additionalProperties": false,
                ],
            ]),
        ]
        var required: [DocumentValue] = ["collections", "health"]
        if feed {
            properties += [("feed", ["type": "string", "const": "/_feed"]), ("changes", ["type": "string", "const": "/_changes"])]
            required += ["feed", "changes"]
        }
        properties.append(("health", ["type": "string", "const": "/_health"]))
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
        "NotFound": problem("No such item (or an id that cannot be of the key's type), or an unknown collection in `collections`."),
        "Conflict": problem("A PRIMARY KEY or UNIQUE conflict; `errors` names the column."),
        "PreconditionFailed": problem(
            "`If-Match` or `If-None-Match` failed.",
            extraHeaders: [("ETag", ["$ref": "#/components/headers/ETag"])]),
        "PayloadTooLarge": problem("The body is larger than the server's limit (`--max-body`); the connection is closed."),
        "UnsupportedMediaType": problem(
            "The body is not declared as JSON (`application/json`, `application/merge-patch+json` or any `application/*+json`).",
            extraHeaders: [("Accept-Patch", ["$ref": "#/components/headers/AcceptPatch"])]),
        "UnprocessableEntity": problem(
            Texts.unprocessable),
        "Gone": problem("Events after `since` were pruned: re-read the collections, then continue from their X-Change-Seq."),
        "InternalServerError": problem("A fault of the server; the body says only that, with the request id. The log has the detail."),
        "ServiceUnavailable": problem(
            "The database stayed locked by another process past the busy timeout.",
            extraHeaders: [("Retry-After", ["$ref": "#/components/headers/RetryAfter"])]),
    ]
}

// MARK: The AsyncAPI server

/// The WebSocket endpoint of a server URL: `https://h:1/base` → host `h:1`, protocol `wss`,
/// pathname `/base`.
struct WebSocketEndpoint {
    var host: String
    var protocolName: String
    var pathname: String?

    init(_ url: String) {
        var rest = Substring(url)
        protocolName = "ws"
        if let separator = rest.range(of: "://") {
            let scheme = rest[..<separator.lowerBound].lowercased()
            protocolName = scheme == "https" || scheme == "wss" ? "wss" : "ws"
            rest = rest[separator.upperBound...]
        }
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        let slash = rest.firstIndex(of: "/")
        let host = slash.map { rest[..<$0] } ?? rest
        self.host = host.isEmpty ? "localhost:8080" : String(host)
        var path = slash.map { String(rest[$0...]) } ?? ""
        while path.hasSuffix("/") { path.removeLast() }
        pathname = path.isEmpty ? nil : path
    }
}

// MARK: Texts

enum Texts {
    static func openAPIDescription(feed: Bool) -> String {
        var text = """
            Every table of the database with a single-column primary key, served as a collection of JSON items. \
            Request bodies are JSON (`application/json`, `application/merge-patch+json` or any `application/*+json`); \
            responses are `application/json`, errors RFC 9457 `application/problem+json`. Every response carries `X-Request-Id`. \
            A path that exists with another method is 405 with `Allow`; an unknown path is 404; a body larger than the server's \
            limit is 413 on any route. `HEAD` works wherever `GET` does. Query strings are decoded as HTML forms encode \
            them: `+` is a space, `%2B` a plus.
            """
        if feed {
            text += " Every committed change is an event of the change feed (`/_changes`, `/_feed`); reads and writes carry `X-Change-Seq`."
        }
        return text
    }

    static let asyncAPIDescription = """
        The change feed of a Feedbase server over WebSocket, described from the subscriber's side. Connect with \
        `GET /_feed` and `Upgrade: websocket`; the server sends text frames only: the backlog after `since`, then a \
        `ready` message, then every change as it commits, in strictly increasing `seq`. The same feed is served as \
        Server-Sent Events (`Accept: text/event-stream`) and, for catching up, as `GET /_changes` (see the OpenAPI \
        document at `/openapi.json`).
        """

    static let feedChannelDescription = """
        One connection is one subscription. The server pings every heartbeat interval (30 s by default) and answers \
        pings. Close codes: 4400 when `since` is ahead of the log; 4408 when the subscriber reads too slowly (the reason \
        says `resume with since=N`); 4410 after a `reset` message, when events after `since` were pruned; 1001 when \
        the server stops. Query parameters are checked before the upgrade: a bad one is answered over HTTP (400, or \
        404 for an unknown collection).
        """

    static let feedOperationDescription = """
        Two transports on one route. With `Upgrade: websocket` (and the usual `Connection: Upgrade`, \
        `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`) the connection switches to the WebSocket feed (101), whose \
        messages the AsyncAPI document at `/asyncapi.json` describes. With `Accept: text/event-stream` the answer is \
        the Server-Sent Events stream (200). A plain GET with neither is refused with 400: use `GET /_changes` to read \
        changes over plain HTTP.
        """

    static let changeEvent = """
        A committed create, update or delete. `item` is the item after the change (as it was, for a delete), \
        exactly as GET returns it.
        """

    static let resetMessage = """
        Events after `since` are no longer kept (the oldest is `oldest`); the connection then closes with code \
        4410. Re-read the collections over REST, then subscribe from their X-Change-Seq.
        """

    static let feedSince = """
        Send the events after this seq (default: the `Last-Event-ID` header, else only new events). Ahead of the \
        log is refused with 400 (SSE) or closed with 4400 (WebSocket); older than the oldest kept gives 410 \
        (SSE) or a reset message (WebSocket).
        """

    static let changesSince = """
        Return the events after this seq (default: from the oldest kept). Older than the oldest kept is refused \
        with 410.
        """

    static let collections = """
        Only these collections, comma-separated (default: all). An unknown name is refused with 404 (for \
        `/_feed`, before any upgrade).
        """

    static let absentID = """
        An id that cannot be of the key's type names no item: 404, for PUT too.
        """

    static let listing = """
        A page of items, ordered by `order` and then by the primary key. While more rows may follow, `Link` \
        holds the next page's URL (keyset pagination: rows are never skipped or repeated). `HEAD` answers the \
        same without a body.
        """

    static let order = """
        Sort keys, comma-separated: `column` or `column.asc`, `column.desc` (e.g. `priority.desc,title`). The \
        primary key is always the final tiebreaker, in the direction of the last key. NULLs come first \
        ascending, last descending. Blob and JSON columns cannot be ordered by; a column twice is refused with \
        400.
        """

    static let created = """
        Created: the stored item with its defaults and key (`Location` and `ETag` for an object body), or the \
        array of them (for an array body).
        """

    static let create = """
        An object creates one item; an array of objects creates all of them in one transaction, or none (errors \
        then point into the array: `/3/title`).
        """

    static let replace = """
        Keys left out become their column default, or NULL. An id in the body that differs from the URL is \
        refused with 422; an id in the URL that cannot be of the key's type names no item (404).
        """

    static let changes = """
        Events after `since`, oldest first. Continue with `since=last_seq`. With `wait`, an empty answer is held \
        until an event comes or the time is up (long poll).
        """

    static let upgraded = """
        Switching Protocols: with `Upgrade: websocket`, the connection becomes the WebSocket feed described by \
        the AsyncAPI document at `/asyncapi.json`.
        """

    static let eventStream = """
        With `Accept: text/event-stream`: the stream. Each event is `id: <seq>`, `event: change`, `data: \
        <ChangeEvent JSON>`; `event: ready` (data `{"type":"ready","seq":N}`) ends the backlog; `event: reset` \
        or `event: overflow` ends the stream; `: ping` comment lines are heartbeats.
        """

    static let ifMatch = """
        Entity tags (or `*`): the write happens only if the item exists and its current ETag is one of them; \
        otherwise 412 with the current ETag. Checked inside the write's transaction.
        """

    static let changeSeq = """
        The change log's head: for a read, the highest seq visible in the snapshot the body was read from; for a \
        write, the seq of its last event. Subscribe with `since` set to this to miss nothing.
        """

    static let badRequest = """
        Malformed: a bad query parameter or cursor; a path or query that is not valid percent-encoded UTF-8; a \
        body that is not JSON, not UTF-8, nested deeper than 2,000 levels, empty, not an object (or array, for \
        POST), or with an unknown or duplicate field; on any route, a request that is not valid HTTP/1.1 (such \
        as a control character in a header value), after which the connection closes.
        """

    static let unprocessable = """
        The body does not fit the table: a type, range, date or base64 error, a NOT NULL, CHECK or foreign key \
        violation, a string holding U+0000, a number beyond the range of a 64-bit float (in a JSON value too), a \
        key in the body that differs from the URL; `errors` points at each field (never SQL).
        """
}
