// A batch (`POST /_batch`, docs/API.md "Batches") planned in no engine's terms: each operation's
// object checked as a request would be, its id and body with every `{"$ref": "/N/..."}` filled in
// from an earlier operation's result, its access asked for, and its errors pointed into the
// operation's object. The engine runs each step inside its one transaction (`perform`), so an
// operation is checked only after the ones before it ran, as it would be if sent alone.

/// One operation as its object in the batch says it.
package struct BatchOperation {
    package var action: BatchAction
    package var collection: CollectionSchema
    package var id: BodyField?
    package var body: BodyField?
    package var ifMatch: [String]?
}

/// One operation ready to run: allowed, its id typed as the collection's key, its body's members
/// with references resolved.
package struct BatchStep {
    package let action: BatchAction
    package let collection: CollectionSchema
    /// The id as a URL segment would carry it, and as the key's value; nil for a create.
    package let id: String?
    package let key: SQLValue?
    package let fields: [BodyField]
    package let preconditions: Preconditions
    package let access: Access
}

/// The state of one batch: the items the operations so far produced, which later operations may
/// refer to.
package struct BatchRun {
    package let collections: [String: CollectionSchema]
    package let authorize: @Sendable (BatchAction, String) throws -> Access
    package var results: [Item?] = []

    package static let members: Set<String> = ["op", "collection", "id", "body", "ifMatch"]

    package init(collections: [String: CollectionSchema], authorize: @escaping @Sendable (BatchAction, String) throws -> Access) {
        self.collections = collections
        self.authorize = authorize
    }

    /// Runs every operation of `body` in order through `perform`; any failure is thrown as a
    /// `BatchFailure` naming the operation.
    package mutating func apply(_ body: [UInt8], perform: (BatchStep) throws -> BatchOutcome) throws -> [BatchOutcome] {
        let elements = try Self.operations(of: body)
        var outcomes: [BatchOutcome] = []
        outcomes.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            var label: String?
            do {
                let planned = try plan(element, at: index, label: &label)
                let outcome: BatchOutcome
                do { outcome = try perform(planned.step) } catch let error as StoreError { throw planned.located(error) }
                outcomes.append(outcome)
                results.append(outcome.item)
            } catch {
                throw BatchFailure(index: index, operation: label, error: error)
            }
        }
        return outcomes
    }

    /// `apply` for an engine whose statements are asynchronous (PostgreSQL): the same plan, the
    /// same errors, each step awaited before the next is planned. (The two differ only in
    /// `await`: the planning and the error locating they share are `plan` and `located`.)
    package mutating func apply(_ body: [UInt8], perform: (BatchStep) async throws -> BatchOutcome) async throws -> [BatchOutcome] {
        let elements = try Self.operations(of: body)
        var outcomes: [BatchOutcome] = []
        outcomes.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            var label: String?
            do {
                let planned = try plan(element, at: index, label: &label)
                let outcome: BatchOutcome
                do { outcome = try await perform(planned.step) } catch let error as StoreError { throw planned.located(error) }
                outcomes.append(outcome)
                results.append(outcome.item)
            } catch {
                throw BatchFailure(index: index, operation: label, error: error)
            }
        }
        return outcomes
    }

    /// One operation planned: the step an engine runs, and how its errors are located.
    private struct Planned {
        let step: BatchStep
        let collection: CollectionSchema
        let hasBody: Bool

        func located(_ error: StoreError) -> StoreError {
            BatchRun.locating(error, in: collection, hasBody: hasBody)
        }
    }

    /// Plans the operation at `index`, naming it in `label` as soon as it is known (a failure
    /// names the operation as far as it was read).
    private func plan(_ element: BodyField, at index: Int, label: inout String?) throws -> Planned {
        let operation = try parse(element)
        label = "\(operation.action.rawValue) \(operation.collection.name)"
        let id = try operation.id.map { try idText($0, before: index) }
        if let id { label = "\(operation.action.rawValue) \(operation.collection.name)/\(id)" }
        let step = try step(operation, id: id, index: index)
        return Planned(step: step, collection: operation.collection, hasBody: operation.body != nil)
    }

    /// The operations' objects of a batch body (a JSON array).
    private static func operations(of body: [UInt8]) throws -> [BodyField] {
        do {
            let type = try RequestBody.topLevelType(of: body)
            guard type == "array" else {
                throw StoreError.malformed("the request body must be a JSON array of operations, not \(RequestBody.describe(type))")
            }
            return try RequestBody.elements(ofArray: body)
        } catch var error as StoreError {
            // A string with `\u0000` is found in the whole text: blame its operation.
            guard error.kind == .invalid, let pointer = error.violations.first?.pointer, let (index, rest) = Self.split(pointer) else { throw error }
            error.violations[0].pointer = rest
            throw BatchFailure(index: index, operation: nil, error: error)
        }
    }

    /// An entity tag of the list without the spaces and tabs around it.
    package static func trimmed(_ tag: Substring) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = tag.firstIndex(where: { !blank($0) }), let end = tag.lastIndex(where: { !blank($0) }) else { return "" }
        return String(tag[start...end])
    }

    /// `/3/body/title` → (3, `/body/title`).
    package static func split(_ pointer: String) -> (Int, String)? {
        let tokens = pointer.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard tokens.count == 2, tokens[0].isEmpty else { return nil }
        let rest = tokens[1].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let index = Int(rest[0]) else { return nil }
        return (index, rest.count > 1 ? "/" + rest[1] : "")
    }

    /// The operation's object, its shape checked as a request's would be (400 for unknown,
    /// missing or mistyped members; 404 for a collection that is not served).
    private func parse(_ element: BodyField) throws -> BatchOperation {
        guard element.type == "object" else {
            throw StoreError.malformed("an operation must be an object, not \(RequestBody.describe(element.type))", [
                Violation(pointer: "", detail: "expected an object"),
            ])
        }
        let fields = try RequestBody.members(of: Array(element.json.utf8))
        var problems: [Violation] = []
        var byKey: [String: BodyField] = [:]
        for field in fields {
            let pointer = RequestBody.pointer("", field.key)
            if !Self.members.contains(field.key) {
                problems.append(Violation(pointer: pointer, detail: "unknown member; an operation has op, collection, id, body and ifMatch"))
            } else if byKey.updateValue(field, forKey: field.key) != nil {
                problems.append(Violation(pointer: pointer, detail: "duplicate member"))
            }
        }
        func text(_ key: String) -> String? {
            guard let field = byKey[key], field.type == "text", case .text(let value) = field.atom else { return nil }
            return value
        }
        let action = text("op").flatMap(BatchAction.init(rawValue:))
        if action == nil {
            let detail = byKey["op"] == nil ? "required" : "expected one of create, put, patch, delete"
            problems.append(Violation(pointer: "/op", detail: detail))
        }
        let name = text("collection")
        if name == nil { problems.append(Violation(pointer: "/collection", detail: byKey["collection"] == nil ? "required" : "expected a string")) }
        if let action {
            let id = byKey["id"]
            if action == .create, id != nil {
                problems.append(Violation(pointer: "/id", detail: "a create takes no id; give the key in the body"))
            } else if action != .create, id == nil {
                problems.append(Violation(pointer: "/id", detail: "required for \(action.rawValue)"))
            } else if let id, id.type == "text", id.atom == .text("") {
                // As in a URL, where `/comments/` is the listing: an item's id is never empty.
                problems.append(Violation(pointer: "/id", detail: "an id is never empty"))
            } else if let id, !["text", "integer", "real", "object"].contains(id.type) {
                problems.append(Violation(pointer: "/id", detail: "expected a string, a number or {\"$ref\": ...}, got \(RequestBody.describe(id.type))"))
            }
            let body = byKey["body"]
            if action == .delete, body != nil {
                problems.append(Violation(pointer: "/body", detail: "a delete takes no body"))
            } else if action != .delete, body == nil {
                problems.append(Violation(pointer: "/body", detail: "required for \(action.rawValue)"))
            } else if let body, body.type != "object" {
                problems.append(Violation(pointer: "/body", detail: "expected an object, got \(RequestBody.describe(body.type))"))
            }
            if let ifMatch = byKey["ifMatch"] {
                if action == .create {
                    problems.append(Violation(pointer: "/ifMatch", detail: "a create has no item to match"))
                } else if ifMatch.type != "text" {
                    problems.append(Violation(pointer: "/ifMatch", detail: "expected a string of entity tags, such as \"\\\"a1b2\\\"\""))
                }
            }
        }
        guard problems.isEmpty, let action, let name else { throw StoreError.malformed("the operation is not acceptable", problems) }
        guard let collection = collections[name] else {
            var error = StoreError.notFound("no collection named '\(name)'")
            error.violations = [Violation(pointer: "/collection", detail: "no collection named '\(name)'")]
            throw error
        }
        // Typed as the key is in a body, as the document says: a number for a numeric key, a
        // string for any other.
        if let id = byKey["id"], id.type != "object" {
            let numeric = [.integer, .number, .boolean].contains(collection.primaryKey.type)
            guard ["integer", "real"].contains(id.type) == numeric else {
                throw StoreError.malformed("the operation is not acceptable", [
                    Violation(pointer: "/id", detail: "expected \(numeric ? "a number" : "a string") for the key of \(collection.name)"),
                ])
            }
        }
        // As the If-Match header is read: a comma-separated list of tags, or `*`.
        let ifMatch = text("ifMatch").map { tags in
            tags.split(separator: ",").map(Self.trimmed).filter { !$0.isEmpty }
        }
        return BatchOperation(action: action, collection: collection, id: byKey["id"], body: byKey["body"], ifMatch: ifMatch)
    }

    /// The id as a URL segment would carry it.
    private func idText(_ field: BodyField, before index: Int) throws -> String {
        var value = field
        if field.type == "object" {
            guard let reference = try reference(in: field) else {
                throw StoreError.malformed("the operation is not acceptable", [
                    Violation(pointer: "/id", detail: "expected a string, a number or {\"$ref\": ...}, got an object"),
                ])
            }
            value = try resolve(reference, before: index, at: "/id/$ref")
        }
        switch (value.type, value.atom) {
        case ("text", .text(let text)): return text
        case ("integer", _), ("real", _): return value.json
        default:
            throw StoreError.invalid([Violation(pointer: "/id/$ref", detail: "refers to \(RequestBody.describe(value.type)), which is not an id")])
        }
    }

    /// The operation ready to run; its errors pointed into the operation's object (`perform`'s
    /// are pointed by the caller, with `locating`).
    private func step(_ operation: BatchOperation, id: String?, index: Int) throws -> BatchStep {
        let collection = operation.collection
        let access = try authorize(operation.action, collection.name)
        do {
            // An id that cannot be a key names no item, as in a URL.
            let key = try id.map { id in
                guard let key = collection.primaryKey.keyValue(id) else {
                    throw StoreError.notFound("no item '\(id)' in \(collection.name)")
                }
                return key
            }
            let fields = try operation.body.map { try resolvedFields(of: $0, before: index) } ?? []
            guard operation.action == .create || key != nil else {
                throw StoreError(.internal, "an operation without its id")  // parse() requires it
            }
            return BatchStep(
                action: operation.action, collection: collection, id: id, key: key, fields: fields,
                preconditions: Preconditions(ifMatch: operation.ifMatch), access: access)
        } catch let error as StoreError {
            throw Self.locating(error, in: collection, hasBody: operation.body != nil)
        }
    }

    /// The error with pointers into the operation's object: the body's under `/body`, a
    /// precondition at `/ifMatch`, a missing or still referenced item at `/id`.
    private static func locating(_ error: StoreError, in collection: CollectionSchema, hasBody: Bool) -> StoreError {
        var error = error
        switch error.kind {
        case .preconditionFailed:
            error.violations = [Violation(pointer: "/ifMatch", detail: error.message)]
        case .referenced where !error.violations.isEmpty:
            // A change of a value others refer to: the body's member.
            for index in error.violations.indices { error.violations[index].pointer = "/body" + error.violations[index].pointer }
        case .notFound, .referenced:
            error.violations = [Violation(pointer: "/id", detail: error.message)]
        case .conflict, .foreignKey, .constraint:
            error = error.located(in: collection, at: hasBody ? "/body" : "/id")
        default:
            for index in error.violations.indices { error.violations[index].pointer = "/body" + error.violations[index].pointer }
        }
        return error
    }

    /// The body's members, each `{"$ref": "/N/..."}` replaced by the value it points at.
    private func resolvedFields(of body: BodyField, before index: Int) throws -> [BodyField] {
        var fields = try RequestBody.members(of: Array(body.json.utf8))
        for position in fields.indices where fields[position].type == "object" {
            guard let reference = try reference(in: fields[position]) else { continue }
            let key = fields[position].key
            fields[position] = try resolve(reference, before: index, at: RequestBody.pointer(RequestBody.pointer("", key), "$ref"))
            fields[position].key = key
        }
        return fields
    }

    /// The pointer of an object that is exactly `{"$ref": "..."}`, else nil.
    private func reference(in field: BodyField) throws -> String? {
        guard field.json.contains("ref") else { return nil }  // most objects are JSON column values
        let members = try RequestBody.members(of: Array(field.json.utf8))
        guard members.count == 1, members[0].key == "$ref" else { return nil }
        guard case .text(let pointer) = members[0].atom, members[0].type == "text" else {
            throw StoreError.invalid([Violation(pointer: "", detail: "a $ref is a JSON pointer string such as \"/0/id\"")])
        }
        return pointer
    }

    /// The value at `reference` (`/N/...`) in the result body of operation N, which must come
    /// before `index`; errors point at `pointer`, relative to the body (or the operation).
    private func resolve(_ reference: String, before index: Int, at pointer: String) throws -> BodyField {
        func invalid(_ detail: String) -> StoreError { StoreError.invalid([Violation(pointer: pointer, detail: detail)]) }
        var tokens = reference.split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).replacing("~1", with: "/").replacing("~0", with: "~")
        }
        guard tokens.count >= 2, tokens.removeFirst().isEmpty else { throw invalid("expected a JSON pointer such as /0/id") }
        let first = tokens.removeFirst()
        guard let target = Int(first), target >= 0, String(target) == first else {
            throw invalid("a reference starts with the index of an earlier operation, such as /0/id")
        }
        guard target < index else { throw invalid("refers to operation \(target), which does not come before this one (\(index))") }
        guard let item = results[target] else { throw invalid("refers to operation \(target), a delete, which has no body") }
        var current = BodyField(key: "", type: "object", atom: .null, json: String(decoding: item.json, as: UTF8.self))
        for token in tokens {
            let next = ["object", "array"].contains(current.type)
                ? try RequestBody.members(of: Array(current.json.utf8)).first { $0.key == token } : nil
            guard let next else { throw invalid("operation \(target)'s result has nothing at \(reference.dropFirst(first.count + 1))") }
            current = next
        }
        return current
    }
}
