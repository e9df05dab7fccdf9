// A FilterPlan as SQLite conditions. Each condition compares the value as read
// (RowJSON.comparableExpression), so a band's predicate (the same plan, evaluated in Swift) and
// the listing agree on values other programs store; where that would cost the column's index
// and the stored values allow it, the stored value is compared instead.

import FeedbaseModel

struct SQLConditions {
    let collection: CollectionSchema
    /// Where the plan is rendered: a boolean condition checks what the column holds, in the
    /// snapshot of the statement that follows on it.
    let connection: Connection

    /// The plan's conditions, ANDed by the caller: filters, groups, then the rule's.
    func whereClause(_ plan: FilterPlan, into sql: inout BoundSQL) throws -> [String] {
        var conditions: [String] = []
        for condition in plan.filters { conditions.append(try self.condition(condition, into: &sql)) }
        for group in plan.groups { conditions.append(try self.condition(group, into: &sql)) }
        for condition in plan.rule { conditions.append(try self.condition(condition, into: &sql)) }
        return conditions
    }

    /// A rule's conditions (lenient, as `ListQuery.rule`) on `collection`.
    static func rule(_ filters: [Filter], of collection: CollectionSchema, into sql: inout BoundSQL, on connection: Connection) throws -> [String] {
        var query = ListQuery()
        query.rule = filters
        let plan = try FilterPlan(query, of: collection)
        return try SQLConditions(collection: collection, connection: connection).whereClause(plan, into: &sql)
    }

    /// `underNot`: whether an odd number of enclosing groups negate it.
    private func condition(_ group: RowPredicate.Group, into sql: inout BoundSQL, underNot: Bool = false) throws -> String {
        let inner = underNot != group.negated
        var parts: [String] = []
        for member in group.members {
            switch member {
            case .condition(let condition): parts.append(try self.condition(condition, into: &sql, underNot: inner))
            case .group(let member): parts.append(try self.condition(member, into: &sql, underNot: inner))
            }
        }
        let joined = "(" + parts.joined(separator: group.any ? " OR " : " AND ") + ")"
        return group.negated ? "NOT " + joined : joined
    }

    private func condition(_ planned: RowPredicate.Condition, into sql: inout BoundSQL, underNot: Bool = false) throws -> String {
        if case .never = planned.test { return planned.negated ? "NOT (0)" : "(0)" }
        let column = collection.columns[planned.column]
        let reference = quoteIdentifier(column.name)
        // An infinity (only another program stores one) reads as null. Where the condition
        // counts positively (under no NOT, or an even number of them), a condition that is false
        // for it is as good as one that is NULL: the stored value is compared (index-friendly)
        // with the infinities left out. Under a NOT, the value as read is compared.
        let infinities = ![.boolean, .json, .blob].contains(column.type) && column.holdsReals
        let negative = underNot != planned.negated
        let value =
            if infinities && negative {
                "(CASE WHEN \(RowJSON.isInfinite(reference)) THEN NULL ELSE \(reference) END)"
            } else if column.type == .boolean, collection.indexLeaders.contains(column.name),
                try Self.holdsOnlyZeroAndOne(column, of: collection, on: connection)
            {
                // Read as stored: 0, 1 and NULL read as false, true and null, and the column's
                // index serves the condition (and an ORDER BY behind it on the same index).
                reference
            } else {
                RowJSON.comparableExpression(column)
            }
        var condition: String
        switch planned.test {
        case .isNull:
            // Only a JSON column shows some stored values (the text `null`) as null.
            condition = "\(column.type == .json || infinities ? value : reference) IS NULL"
        case .isTrue:
            // `IS 1`: never NULL, so `not.is.true` holds for a NULL as the predicate's isTrue says.
            condition = "\(value) IS 1"
        case .isFalse:
            condition = "\(value) = 0"
        case .never:
            condition = "0"
        case .oneOf(let operands):
            condition = "\(value) IN (\(operands.map { sql.bind($0) }.joined(separator: ", ")))"
        case .pattern(let pattern, let caseless):
            if !caseless {
                // GLOB is case-sensitive; escape its own metacharacters, keep * as the wildcard.
                // Scalars, not Characters: a combining mark after `?` must not hide it from the
                // escape (SQLite matches code points).
                var glob = String.UnicodeScalarView()
                for scalar in pattern {
                    switch scalar {
                    case nil: glob.append("*")
                    case "?": glob += "[?]".unicodeScalars
                    case "[": glob += "[[]".unicodeScalars
                    case let scalar?: glob.append(scalar)
                    }
                }
                condition = "\(value) GLOB \(sql.bind(.text(String(glob))))"
            } else {
                condition = "\(value) LIKE \(sql.bind(.text(RowPredicate.likePattern(pattern)))) ESCAPE '\\'"
            }
            // A BLOB (another program's) matches no pattern, as in SQLite built with
            // LIKE_DOESNT_MATCH_BLOBS (Debian's), whatever the build: the band decides alike.
            condition += " AND typeof(\(value)) != 'blob'"
        case .compare(let op, let operand):
            let symbol = [FilterOperator.eq: "=", .neq: "!=", .gt: ">", .gte: ">=", .lt: "<", .lte: "<="][op] ?? "="
            condition = "\(value) \(symbol) \(sql.bind(operand))"
        }
        if infinities && !negative {
            // The column's affinity is not TEXT (`holdsReals`), so the literals stay REAL and
            // `is.null` stays two index lookups.
            condition = planned.test == .isNull
                ? "\(condition) OR \(reference) IN (1e999, -1e999)" : "\(condition) AND \(reference) NOT IN (1e999, -1e999)"
        }
        return planned.negated ? "NOT (\(condition))" : "(\(condition))"
    }

    /// Whether a boolean column holds nothing but 0, 1 and NULL (what Feedbase writes), in the
    /// snapshot of the statement that follows on `connection` (a listing reads in one
    /// transaction). Three seeks on the index the column leads: numbers below 0, between 0 and
    /// 1, and above 1, text and BLOBs (which sort after every number) with them.
    static func holdsOnlyZeroAndOne(_ column: Column, of collection: CollectionSchema, on connection: Connection) throws -> Bool {
        let reference = quoteIdentifier(column.name)
        let odd = try connection.query(
            "SELECT EXISTS (SELECT 1 FROM \(quoteIdentifier(collection.name)) WHERE \(reference) < 0 OR "
                + "(\(reference) > 0 AND \(reference) < 1) OR \(reference) > 1)", []
        ) { $0.int64(0) }.first
        return odd == 0
    }
}
