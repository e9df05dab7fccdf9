// Embedded relations as a request names them (docs/API.md, "Embedding"): the model both engines
// build their correlated subqueries from.

/// One embedded relation of a listing or an item: `alias:relation!hint(columns, nested...)`
/// with its own filters, order and page (`tasks.done=eq.false&tasks.order=priority.desc`).
public struct Embed: Sendable, Equatable {
    /// Levels of embedding below the item (HTTP answers 400 above).
    public static let maximumDepth = 4
    /// Rows in one embedded array when no `limit` is given, and the most a `limit` may ask.
    public static let maximumLimit = 1_000

    /// The key in the item: the alias, else the relation's name as written.
    public var key: String
    public var relation: String
    /// The foreign key's column, after `!`.
    public var hint: String?
    /// The embedded rows' columns, in order; nil for all.
    public var columns: [String]?
    public var embeds: [Embed] = []
    public var filters: [Filter] = []
    public var groups: [FilterGroup] = []
    /// The read rule of the embedded collection for the caller (as `ListQuery.rule`).
    public var rule: [Filter] = []
    public var order: [Ordering] = []
    public var limit: Int?
    public var offset = 0

    public init(key: String, relation: String, hint: String? = nil, columns: [String]? = nil) {
        self.key = key
        self.relation = relation
        self.hint = hint
        self.columns = columns
    }

    /// The client's conditions here and below.
    public var conditionCount: Int {
        filters.count + groups.reduce(0) { $0 + $1.conditionCount } + embeds.reduce(0) { $0 + $1.conditionCount }
    }
}

/// A foreign key seen from one side: to-one when the parent holds it, to-many when the target does.
public struct Relation: Sendable, Equatable {
    public var target: CollectionSchema
    public var foreignKey: ForeignKey
    public var toMany: Bool
    /// The parent's column and the target's column the rows are joined on.
    public var columns: (parent: String, target: String) { (parentColumn, targetColumn) }
    package var parentColumn: String
    package var targetColumn: String

    package init(parent: CollectionSchema, target: CollectionSchema, foreignKey: ForeignKey, toMany: Bool) {
        self.target = target
        self.foreignKey = foreignKey
        self.toMany = toMany
        if toMany {
            parentColumn = foreignKey.parentColumn ?? parent.primaryKey.name
            targetColumn = foreignKey.column
        } else {
            parentColumn = foreignKey.column
            targetColumn = foreignKey.parentColumn ?? target.primaryKey.name
        }
    }

    /// The relation `name` (with `hint`) of `parent` in `schema`, or a `badQuery` error naming
    /// `parameter` that lists what the name could have been.
    public static func resolve(
        _ name: String, hint: String?, from parent: CollectionSchema, in schema: Schema, parameter: String = "select"
    ) throws -> Relation {
        var found: [Relation] = []
        // To-one: the parent's own foreign keys, by column (without `_id`) or by referenced table.
        for key in parent.foreignKeys {
            guard let target = schema[key.table], hint == nil || hint == key.column else { continue }
            if toOneName(key.column) == name || key.table == name { found.append(Relation(parent: parent, target: target, foreignKey: key, toMany: false)) }
        }
        // To-many: the foreign keys of the table named `name` that reference the parent.
        if let child = schema[name] {
            for key in child.foreignKeys where key.table == parent.name && (hint == nil || hint == key.column) {
                found.append(Relation(parent: parent, target: child, foreignKey: key, toMany: true))
            }
        }
        if found.count == 1 { return found[0] }
        if found.isEmpty {
            let known = relationNames(of: parent, in: schema)
            let hinted = hint.map { " through '\($0)'" } ?? ""
            throw StoreError.badQuery(
                parameter, "\(parent.name) has no relation '\(name)'\(hinted)" + (known.isEmpty ? "" : "; its relations: " + known.joined(separator: ", ")))
        }
        // Sorted: the catalog's order of foreign keys is not the same on both engines.
        let choices = found.map { "\(name)!\($0.foreignKey.column)" }.sorted()
        throw StoreError.badQuery(parameter, "'\(name)' is ambiguous in \(parent.name): name the foreign key, as " + choices.joined(separator: " or "))
    }

    /// `project_id` → `project`; a column without the suffix is its own name.
    public static func toOneName(_ column: String) -> String {
        column.count > 3 && column.hasSuffix("_id") ? String(column.dropLast(3)) : column
    }

    /// Every name `resolve` accepts for `parent`, for error messages and documents.
    public static func relationNames(of parent: CollectionSchema, in schema: Schema) -> [String] {
        var names: [String] = []
        // A key column without `_id` is a column's name too (`tasks.project`): its relation goes
        // by the referenced collection (`projects`), which `select=*,...` can always add.
        for key in parent.foreignKeys where schema[key.table] != nil {
            names.append(toOneName(key.column) == key.column ? key.table : toOneName(key.column))
        }
        for child in schema.collections where child.foreignKeys.contains(where: { $0.table == parent.name }) { names.append(child.name) }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
