// A listing's filters, groups and rule conditions checked against the collection and typed by
// their columns, once, in no engine's terms: each engine renders the plan as its SQL, and a band
// evaluates the same plan in Swift (RowPredicate), so REST and the feed cannot type an operand
// differently, and every engine answers the same mistake with the same error.

/// Typed conditions, ANDed: the client's filters (strict), its `or`/`and` groups, then the
/// rule's conditions (lenient: an operand not of the column's type matches nothing).
public struct FilterPlan: Sendable, Equatable {
    package var filters: [RowPredicate.Condition] = []
    package var groups: [RowPredicate.Group] = []
    package var rule: [RowPredicate.Condition] = []

    package init() {}

    /// The plan as a predicate over rows of `collection`.
    package func predicate(of collection: CollectionSchema) -> RowPredicate {
        var predicate = RowPredicate(
            collection: collection.name, conditions: filters + rule,
            layout: RowLayout(names: collection.columns.map(\.name), types: collection.columns.map(\.type)))
        predicate.groups = groups
        return predicate
    }
}

extension FilterPlan {
    /// Checks and types the filters of `query` (filters, groups, rule: the order errors are
    /// found in) against `collection`.
    package init(_ query: ListQuery, of collection: CollectionSchema) throws {
        let planner = FilterPlanner(collection: collection)
        filters = try query.filters.map { try planner.condition($0) }
        groups = try query.groups.map { try planner.group($0) }
        rule = try query.rule.map { try planner.condition($0, lenient: true) }
    }
}

struct FilterPlanner {
    let collection: CollectionSchema

    /// A group; a member's error names the group's parameter.
    func group(_ group: FilterGroup) throws -> RowPredicate.Group {
        var members: [RowPredicate.Group.Member] = []
        for member in group.members {
            switch member {
            case .filter(let filter):
                do {
                    members.append(.condition(try condition(filter)))
                } catch let error as StoreError where error.kind == .badQuery {
                    throw StoreError.badQuery(group.parameter, "\(filter.column): \(error.message)")
                }
            case .group(let inner):
                members.append(.group(try self.group(inner)))
            }
        }
        return RowPredicate.Group(any: group.any, negated: group.negated, members: members)
    }

    /// One filter. `lenient` (a rule's condition): an operand that is not of the column's type
    /// matches nothing (an `in` list keeps the items that are), negated or not, instead of being
    /// the client's error.
    func condition(_ filter: Filter, lenient: Bool = false) throws -> RowPredicate.Condition {
        let never = RowPredicate.Condition(column: 0, test: .never, negated: false)
        var filter = filter
        if lenient {
            switch filter.operand {
            case .value(let text) where [.like, .ilike].contains(filter.op) && text.unicodeScalars.contains("\0"):
                return never
            case .value(let text) where ![.like, .ilike].contains(filter.op):
                guard let column = collection.column(filter.column), (try? operand(text, for: column, parameter: "")) != nil else {
                    return never
                }
            case .list(let items):
                guard let column = collection.column(filter.column) else { return never }
                let typed = items.filter { (try? operand($0, for: column, parameter: "")) != nil }
                if typed.isEmpty { return never }
                filter.operand = .list(typed)
            default: break
            }
        }
        let parameter = filter.column
        guard let index = collection.columns.firstIndex(where: { $0.name == filter.column }) else {
            throw StoreError.badQuery(parameter, "\(collection.name) has no column '\(filter.column)'")
        }
        let column = collection.columns[index]
        let test: RowPredicate.Test
        switch (filter.op, filter.operand) {
        case (.is, .null):
            test = .isNull
        case (.is, .true), (.is, .false):
            guard column.type == .boolean else {
                throw StoreError.badQuery(parameter, "is.true and is.false need a boolean column; '\(column.name)' is \(column.type.rawValue)")
            }
            test = filter.operand == .true ? .isTrue : .isFalse
        case (.is, _):
            throw StoreError.badQuery(parameter, "is takes null, true or false")
        case (.in, .list(let items)):
            test = items.isEmpty ? .never : .oneOf(try items.map { try operand($0, for: column, parameter: parameter) })
        case (.in, _):
            throw StoreError.badQuery(parameter, "in takes a list in parentheses: in.(a,b,\"c,d\")")
        case (.like, .value(let pattern)), (.ilike, .value(let pattern)):
            guard [.string, .dateTime, .date, .time, .json].contains(column.type) else {
                throw StoreError.badQuery(parameter, "\(filter.op.rawValue) needs a text column; '\(column.name)' is \(column.type.rawValue)")
            }
            // SQLite's GLOB and LIKE end a pattern at U+0000: `*%00x` would match as `*`, and
            // a band's predicate (which reads the whole pattern) would disagree with the listing.
            guard !pattern.unicodeScalars.contains("\0") else {
                throw StoreError.badQuery(parameter, "a pattern cannot contain U+0000 (%00)")
            }
            test = .pattern(pattern.unicodeScalars.map { $0 == "*" ? nil : $0 }, caseless: filter.op == .ilike)
        case (.eq, .value(let text)), (.neq, .value(let text)):
            test = .compare(filter.op, try operand(text, for: column, parameter: parameter))
        case (.gt, .value(let text)), (.gte, .value(let text)), (.lt, .value(let text)), (.lte, .value(let text)):
            guard ![.boolean, .blob, .json].contains(column.type) else {
                throw StoreError.badQuery(parameter, "\(filter.op.rawValue) cannot compare a \(column.type.rawValue) column")
            }
            test = .compare(filter.op, try operand(text, for: column, parameter: parameter))
        default:
            throw StoreError.badQuery(parameter, "\(filter.op.rawValue) takes a single value")
        }
        return RowPredicate.Condition(column: index, test: test, negated: filter.negated)
    }

    /// The value of an operand written in the URL, typed by its column.
    func operand(_ text: String, for column: Column, parameter: String) throws -> SQLValue {
        func bad(_ expected: String) -> StoreError {
            StoreError.badQuery(parameter, "'\(text)' is not \(expected) (column '\(column.name)' is \(column.type.rawValue))")
        }
        switch column.type {
        case .integer:
            guard let value = Int64(text) else { throw bad("an integer") }
            return .integer(value)
        case .number:
            if let value = Int64(text) { return .integer(value) }
            guard let value = Double(text), value.isFinite, text.unicodeScalars.allSatisfy({ "0123456789.eE+-".unicodeScalars.contains($0) }) else {
                throw bad("a number")
            }
            return .real(value)
        case .boolean:
            switch text {
            case "true": return .integer(1)
            case "false": return .integer(0)
            default: throw bad("true or false")
            }
        case .dateTime:
            guard let value = Timestamp.normalizeDateTime(text) else { throw bad("an RFC 3339 date-time") }
            return .text(value)
        case .date:
            guard Timestamp.isValidDate(text) else { throw bad("a date YYYY-MM-DD") }
            return .text(text)
        case .time:
            guard Timestamp.isValidTime(text) else { throw bad("a time HH:MM:SS") }
            return .text(text)
        case .blob:
            guard let bytes = Base64.decode(text) else { throw bad("base64") }
            return .blob(bytes)
        case .json:
            // Compared in its normalised form (json() of it, as SQLite writes it); text that is
            // not JSON matches a stored string of it.
            let bytes = Array(text.utf8)
            guard JSONBody.isUTF8WithoutNUL(bytes), JSONBody.scan(bytes) != nil else { return .text(JSONBody.quote(text)) }
            return .text(bytes.withUnsafeBufferPointer { JSONBody.minified($0, 0..<$0.count) })
        case .string:
            return .text(text)
        }
    }
}
