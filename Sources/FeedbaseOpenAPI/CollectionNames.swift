// The names a collection gets in the documents (component names, operation ids, paths), unique
// across the whole document whatever the tables are called.

import FeedbaseModel

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
    /// The text of a logic group's parameter (`or=(...)`): `TaskConditions`.
    var conditions: String { item + "Conditions" }
    var change: String { item + "Change" }
    /// A band's message on `/_changes/{collection}` (`TaskBandChange`), a page of them
    /// (`TaskBandChanges`), and the same message with the band's name, as the WebSocket sends it
    /// (`TaskBandMessage`, in the AsyncAPI document).
    var bandChange: String { item + "BandChange" }
    var bandChanges: String { item + "BandChanges" }
    var bandMessage: String { item + "BandMessage" }

    var listOperation: String { "list" + plural }
    var createOperation: String { "create" + item }
    var getOperation: String { "get" + item }
    var replaceOperation: String { "replace" + item }
    var patchOperation: String { "patch" + item }
    var deleteOperation: String { "delete" + item }
    /// `GET /_changes/{collection}`: `listTaskChanges`, after the item as `TaskChange` is.
    var changesOperation: String { "list" + item + "Changes" }
    var changesPath: String { "/_changes/" + PercentEncoding.encode(collection.name) }

    var allNames: [String] {
        [item, listItem, create, replace, patch, conditions, change, bandChange, bandChanges, bandMessage, listOperation, createOperation,
            getOperation, replaceOperation, patchOperation, deleteOperation, changesOperation]
    }

    /// Component names and operation ids the documents use for themselves.
    static let fixedNames: Set<String> = [
        "ChangeEvent", "Changes", "JSONValue", "Problem", "Index", "Health", "Readiness", "Ready", "Reset",
        "BandChangeEvent", "Subscribe", "Unsubscribe", "Subscribed", "Unsubscribed", "BandReady", "BandProgress", "BandReset",
        "BandError", "MessageProblem", "BatchOperation", "BatchReference", "BatchResults", "applyBatch",
        "getIndex", "getHealth", "getReadiness", "listChanges", "subscribeFeed", "getOpenAPIJSON", "getOpenAPIYAML", "getAsyncAPIJSON",
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
