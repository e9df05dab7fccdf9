// A listing's filters compiled into a RowPredicate, with the same checks and operand typing as the
// listing's SQL (the predicate itself is engine-neutral: FeedbaseModel/RowPredicate.swift).

import FeedbaseModel

extension Listing {
    /// The filters as a predicate; the same errors as the listing's SQL for the same filters.
    func predicate(on connection: Connection) throws -> RowPredicate {
        var conditions: [RowPredicate.Condition] = []
        for (filter, lenient) in query.filters.map({ ($0, false) }) + query.rule.map({ ($0, true) }) {
            conditions.append(try predicateCondition(filter, lenient: lenient, on: connection))
        }
        var predicate = RowPredicate(
            collection: collection.name, conditions: conditions,
            layout: RowLayout(names: collection.columns.map(\.name), types: collection.columns.map(\.type)))
        predicate.groups = try query.groups.map { try predicateGroup($0, on: connection) }
        return predicate
    }

    private func predicateGroup(_ group: FilterGroup, on connection: Connection) throws -> RowPredicate.Group {
        var members: [RowPredicate.Group.Member] = []
        for member in group.members {
            switch member {
            case .filter(let filter):
                do {
                    members.append(.condition(try predicateCondition(filter, lenient: false, on: connection)))
                } catch let error as StoreError where error.kind == .badQuery {
                    throw StoreError.badQuery(group.parameter, "\(filter.column): \(error.message)")
                }
            case .group(let inner):
                members.append(.group(try predicateGroup(inner, on: connection)))
            }
        }
        return RowPredicate.Group(any: group.any, negated: group.negated, members: members)
    }

    private func predicateCondition(_ filter: Filter, lenient: Bool, on connection: Connection) throws -> RowPredicate.Condition {
        let parameter = filter.column
        guard let index = collection.columns.firstIndex(where: { $0.name == filter.column }) else {
            throw StoreError.badQuery(parameter, "\(collection.name) has no column '\(filter.column)'")
        }
        let column = collection.columns[index]
        // The SQL of the same filter checks the operator against the column's type.
        var scratch = BoundSQL()
        if lenient, try condition(filter, into: &scratch, on: connection, lenient: true) == "(0)" {
            return RowPredicate.Condition(column: index, test: .never, negated: false)
        }
        var filter = filter
        if lenient, case .list(let items) = filter.operand {
            filter.operand = .list(items.filter { (try? operand($0, for: column, parameter: "", on: connection)) != nil })
        }
        _ = try condition(filter, into: &scratch, on: connection)
        let test: RowPredicate.Test
        switch (filter.op, filter.operand) {
        case (.is, .null): test = .isNull
        case (.is, .true): test = .isTrue
        case (.is, .false): test = .isFalse
        case (.in, .list(let items)):
            test = items.isEmpty ? .never : .oneOf(try items.map { try operand($0, for: column, parameter: parameter, on: connection) })
        case (.like, .value(let pattern)), (.ilike, .value(let pattern)):
            test = .pattern(pattern.unicodeScalars.map { $0 == "*" ? nil : $0 }, caseless: filter.op == .ilike)
        case (let op, .value(let text)):
            test = .compare(op, try operand(text, for: column, parameter: parameter, on: connection))
        default:
            throw StoreError.badQuery(parameter, "\(filter.op.rawValue) takes a single value")
        }
        return RowPredicate.Condition(column: index, test: test, negated: filter.negated)
    }
}
