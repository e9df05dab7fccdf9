// What a create's body asks for, planned once for both engines: one object, or an array of them.
// An array is all or nothing, and every item is tried so that one answer lists the problems of
// all: first each item's shape and values (malformed items, then invalid ones, fail the whole
// before anything is written), then each insert (a conflict alone stays a 409; with any other
// problem the whole is a 422). The engines build and insert the rows; the rules are here.

package enum CreateBody {
    case object([BodyField])
    case array(BulkCreate)

    package init(_ body: [UInt8], into collection: CollectionSchema) throws {
        switch try RequestBody.topLevelType(of: body) {
        case "object": self = .object(try RequestBody.fields(ofObject: body))
        case "array": self = .array(try BulkCreate(elements: try RequestBody.elements(ofArray: body), into: collection))
        case let type:
            throw StoreError.malformed("the request body must be a JSON object or an array of objects, not \(RequestBody.describe(type))")
        }
    }
}

package struct BulkCreate {
    package let elements: [BodyField]
    /// The keys the items give themselves: an item may refer to another of the same request.
    package let pendingKeys: Set<SQLValue>

    init(elements: [BodyField], into collection: CollectionSchema) throws {
        self.elements = elements
        var keys = Set<SQLValue>()
        for element in elements where element.type == "object" {
            guard let field = try RequestBody.members(of: Array(element.json.utf8)).first(where: { $0.key == collection.primaryKey.name }),
                case .success(let key) = RowValidator.value(of: field, for: collection.primaryKey)
            else { continue }
            keys.insert(key)
        }
        pendingKeys = keys
    }

    /// Each item's row, built by `row` from its fields and its pointer prefix (`/3`); the
    /// problems of every item are thrown together.
    package func rows(_ row: (_ fields: [BodyField], _ pointerPrefix: String) throws -> RowValues) throws -> [RowValues] {
        var problems = ItemProblems()
        var rows: [RowValues] = []
        for (index, element) in elements.enumerated() {
            guard element.type == "object" else {
                problems.notAnObject(element, at: index)
                continue
            }
            do {
                let fields = try RequestBody.fields(ofObject: Array(element.json.utf8))
                rows.append(try row(fields, "/\(index)"))
            } catch {
                try problems.record(error)
            }
        }
        try problems.check()
        return rows
    }

    /// `rows` for an engine whose statements are asynchronous: the same rules.
    package func rows(_ row: (_ fields: [BodyField], _ pointerPrefix: String) async throws -> RowValues) async throws -> [RowValues] {
        var problems = ItemProblems()
        var rows: [RowValues] = []
        for (index, element) in elements.enumerated() {
            guard element.type == "object" else {
                problems.notAnObject(element, at: index)
                continue
            }
            do {
                let fields = try RequestBody.fields(ofObject: Array(element.json.utf8))
                rows.append(try await row(fields, "/\(index)"))
            } catch {
                try problems.record(error)
            }
        }
        try problems.check()
        return rows
    }
}

/// The items' shape and value problems, before anything is written.
private struct ItemProblems {
    var malformed: [Violation] = []
    var invalid: [Violation] = []

    mutating func notAnObject(_ element: BodyField, at index: Int) {
        malformed.append(Violation(pointer: "/\(index)", detail: "expected an object, got \(RequestBody.describe(element.type))"))
    }

    mutating func record(_ error: any Error) throws {
        guard let error = error as? StoreError else { throw error }
        switch error.kind {
        case .malformed: malformed += error.violations
        case .invalid: invalid += error.violations
        default: throw error
        }
    }

    func check() throws {
        if !malformed.isEmpty { throw StoreError.malformed("some items of the array are not acceptable", malformed) }
        if !invalid.isEmpty { throw StoreError.invalid(invalid) }
    }
}

/// The failures of a bulk create's inserts, gathered so that one answer lists them all.
package struct InsertProblems {
    private var problems: [Violation] = []
    private var conflict: StoreError?
    private var unprocessable = false

    package init() {}

    /// Records the failure of item `index`'s insert; rethrows one that is not the item's problem.
    package mutating func record(_ error: any Error, at index: Int, in collection: CollectionSchema) throws {
        guard let error = error as? StoreError else { throw error }
        switch error.kind {
        case .invalid:
            problems += error.violations
            unprocessable = true
        case .conflict, .foreignKey, .constraint:
            let located = error.located(in: collection, at: "/\(index)")
            if error.kind == .conflict { conflict = conflict ?? located } else { unprocessable = true }
            problems += located.violations
        default:
            throw error
        }
    }

    /// Throws what was recorded: a conflict alone as itself (409), anything else as one 422.
    package func check() throws {
        if let conflict, !unprocessable { throw conflict }
        if !problems.isEmpty { throw StoreError.invalid(problems) }
    }
}
