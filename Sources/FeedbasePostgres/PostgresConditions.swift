// A FilterPlan as PostgreSQL conditions, and typed operands (docs/SCHEMA.md, "Filters on
// PostgreSQL"). Each condition compares the value the item's JSON shows, as a band's predicate
// reads it back: text by bytes (COLLATE "C", SQLite's BINARY), a date-time as the instant its
// milliseconds name, a JSON value as jsonb (NULL for JSON null), NaN and the infinities (which
// read as null) as NULL. Values are always bound; the SQL text comes from the schema.

import FeedbaseModel
import PostgresNIO

/// SQL text and the values bound to its numbered parameters, built together.
struct PostgresBoundSQL {
    var text = ""
    var bindings = PostgresBindings()
    private var count = 0

    mutating func bind(_ value: some PostgresNonThrowingEncodable) -> String {
        bindings.append(value)
        count += 1
        return "$\(count)"
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: bindings) }
}

struct PostgresConditions {
    let collection: CollectionSchema
    /// The reference of the collection's row (a table name or an alias, quoted).
    let row: String

    /// The plan's conditions, ANDed by the caller: filters, groups, then the rule's.
    func whereClause(_ plan: FilterPlan, into sql: inout PostgresBoundSQL) -> [String] {
        plan.filters.map { condition($0, into: &sql) } + plan.groups.map { condition($0, into: &sql) } + plan.rule.map { condition($0, into: &sql) }
    }

    private func condition(_ group: RowPredicate.Group, into sql: inout PostgresBoundSQL) -> String {
        let parts = group.members.map { member in
            switch member {
            case .condition(let condition): self.condition(condition, into: &sql)
            case .group(let inner): self.condition(inner, into: &sql)
            }
        }
        let joined = "(" + parts.joined(separator: group.any ? " OR " : " AND ") + ")"
        return group.negated ? "NOT " + joined : joined
    }

    private func condition(_ planned: RowPredicate.Condition, into sql: inout PostgresBoundSQL) -> String {
        let column = collection.columns[planned.column]
        let value = Self.comparable(column, row: row)
        let condition: String
        switch planned.test {
        case .never:
            condition = "false"
        case .isNull:
            condition = "\(value) IS NULL"
        case .isTrue:
            // Never NULL, so `not.is.true` holds for a NULL, as on SQLite (`IS 1`).
            condition = "\(value) IS TRUE"
        case .isFalse:
            condition = "\(value) = false"
        case .oneOf(let operands):
            // Every operand is of the column's type (planned); one that cannot be rendered
            // matches nothing.
            let rendered = operands.compactMap { Self.operand($0, for: column, into: &sql) }
            condition = rendered.isEmpty ? Self.matchesNothing(value) : "\(value) IN (\(rendered.joined(separator: ", ")))"
        case .compare(let op, let operand):
            let symbol = [FilterOperator.eq: "=", .neq: "<>", .gt: ">", .gte: ">=", .lt: "<", .lte: "<="][op] ?? "="
            if let rendered = Self.operand(operand, for: column, into: &sql) {
                condition = "\(value) \(symbol) \(rendered)"
            } else {
                // An operand no stored value can equal: every value differs from it.
                condition = op == .neq ? "(CASE WHEN \(value) IS NULL THEN NULL::boolean ELSE true END)" : Self.matchesNothing(value)
            }
        case .pattern(let pattern, let caseless):
            // SQLite's GLOB (`*` the only wildcard) as LIKE: LIKE's own metacharacters escaped.
            // ILIKE under the "C" collation folds ASCII letters only, as SQLite's LIKE.
            condition = "\(Self.text(column, row: row)) \(caseless ? "ILIKE" : "LIKE") \(sql.bind(RowPredicate.likePattern(pattern))) COLLATE \"C\""
        }
        return planned.negated ? "NOT (\(condition))" : "(\(condition))"
    }

    /// False, or NULL for a NULL value: a comparison with an operand no value can equal, with
    /// SQL's three-valued result (so that NOT of it still leaves NULLs out, as on SQLite).
    static func matchesNothing(_ value: String) -> String {
        "(CASE WHEN \(value) IS NULL THEN NULL::boolean ELSE false END)"
    }

    /// A column as filters compare it and listings order by it.
    static func comparable(_ column: Column, row: String) -> String {
        let reference = row + "." + PostgresSQL.identifier(column.name)
        let base = PostgresRowJSON.baseType(column.declaredType)
        switch column.type {
        case .string:
            return isText(base) ? "\(reference) COLLATE \"C\"" : "(\(reference))::text COLLATE \"C\""
        case .json:
            return "nullif((\(reference))::jsonb, 'null'::jsonb)"
        case .number where base != "numeric" && base != "real" && base != "double precision":
            return reference
        case .number:
            // NaN and the infinities read as null.
            return "(CASE WHEN \(reference) IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE \(reference) END)"
        case .dateTime where !keepsMilliseconds(column.declaredType):
            // The JSON shows milliseconds, truncated: compare what it shows.
            return "date_trunc('milliseconds', \(reference))"
        case .boolean, .integer, .dateTime, .date, .time, .blob:
            return reference
        }
    }

    /// A column as text, the way a pattern matches it: the text of its JSON value.
    static func text(_ column: Column, row: String) -> String {
        let reference = row + "." + PostgresSQL.identifier(column.name)
        switch column.type {
        case .string: return "(\(reference))::text"
        case .json: return "(nullif((\(reference))::jsonb, 'null'::jsonb))::text"
        case .date: return "to_char(\(reference), 'YYYY-MM-DD')"
        default:
            return PostgresRowJSON.valueExpression(PostgresColumn(name: column.name, type: column.declaredType), reference: reference) + "::text"
        }
    }

    static func isText(_ base: String) -> Bool {
        base == "text" || base.hasPrefix("character") || base == "name" || base == "citext"
    }

    /// Whether a timestamp column stores no more than milliseconds (`timestamp(3) with time zone`).
    static func keepsMilliseconds(_ declaredType: String) -> Bool {
        guard let open = declaredType.firstIndex(of: "("), let close = declaredType.firstIndex(of: ")"), open < close,
            let precision = Int(declaredType[declaredType.index(after: open)..<close])
        else { return false }
        return precision <= 3
    }

    /// A typed operand as SQL (bound, cast to what the column compares as), or nil when the value
    /// cannot be one of the column's (a forged cursor's).
    static func operand(_ value: SQLValue, for column: Column, into sql: inout PostgresBoundSQL) -> String? {
        let base = PostgresRowJSON.baseType(column.declaredType)
        switch (column.type, value) {
        case (.boolean, .integer(let flag)):
            return flag == 0 ? "false" : "true"
        case (.integer, .integer(let integer)):
            return "\(sql.bind(integer))::bigint"
        case (.number, .integer(let integer)):
            return base == "numeric" ? "\(sql.bind(integer))::numeric" : "\(sql.bind(integer))::float8"
        case (.number, .real(let real)):
            // A numeric column compares the decimal the operand names (its shortest form).
            return base == "numeric" ? "\(sql.bind(String(real)))::numeric" : "\(sql.bind(real))::float8"
        case (.string, .text(let text)):
            return "\(sql.bind(text))::text"
        case (.json, .text(let text)):
            // The operand's compact JSON, compared as jsonb; jsonb refuses U+0000.
            guard !text.contains("\\u0000") else { return nil }
            return "\(sql.bind(text))::jsonb"
        case (.dateTime, .text(let text)):
            guard let normalized = Timestamp.normalizeDateTime(text) else { return nil }
            // PostgreSQL has no year 0 (SQLite's text has): before every date-time it stores
            // (but -infinity, which reads as null), as year 0 is before every one SQLite stores.
            let instant = normalized.hasPrefix("0000") ? "'-infinity'::timestamptz" : "\(sql.bind(normalized))::timestamptz"
            return base == "timestamp without time zone" ? "(\(instant) AT TIME ZONE 'UTC')" : instant
        case (.date, .text(let text)):
            guard Timestamp.isValidDate(text) else { return nil }
            return text.hasPrefix("0000") ? "'-infinity'::date" : "\(sql.bind(text))::date"
        case (.time, .text(let text)):
            guard Timestamp.isValidTime(text) else { return nil }
            return "\(sql.bind(text))::\(base == "time with time zone" ? "timetz" : "time")"
        case (.blob, .blob(let bytes)):
            return "decode(\(sql.bind(Base64.encode(bytes))), 'base64')"
        default:
            return nil
        }
    }
}
