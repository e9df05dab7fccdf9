// The query string of a listing, parsed into a ListQuery: `column=op.value` filters (with `not.`
// and `in.(a,"b,c")`), `order`, `select`, `limit`, `offset`, `after`. Syntax errors name the
// parameter; whether a column exists and a value fits its type is the store's to say.
//
// Delimiters (`.`, `,`, `(`, `"`, `\`) are found among Unicode scalars, never Characters: a
// combining mark after a delimiter would otherwise fuse with it into one grapheme and hide it.

import FeedbaseModel

enum QueryParameters {
    /// Name/value pairs, decoded as HTML forms encode them (`application/x-www-form-urlencoded`:
    /// `+` is a space, `%2B` a plus), in order.
    static func pairs(_ query: Substring?) throws(Problem) -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        var pairs: [(String, String)] = []
        for part in query.unicodeScalars.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(Substring.init)
            guard let name = PercentEncoding.decode(pieces[0], plusAsSpace: true) else {
                throw Problem(.badRequest, "the query string is not valid percent-encoded UTF-8")
            }
            guard let value = PercentEncoding.decode(pieces.count > 1 ? pieces[1] : "", plusAsSpace: true) else {
                throw Problem.badParameter(name, "the value is not valid percent-encoded UTF-8")
            }
            pairs.append((name, value))
        }
        return pairs
    }

    static func listQuery(_ pairs: [(String, String)]) throws(Problem) -> ListQuery {
        var query = ListQuery()
        var seen = Set<String>()
        // The select first: the embedded relations it names take parameters of their own.
        if let select = pairs.first(where: { $0.0 == "select" })?.1 {
            (query.select, query.embeds) = try selection(select)
        }
        for (name, value) in pairs {
            if ListQuery.reservedParameters.contains(name) {
                guard seen.insert(name).inserted else { throw Problem.badParameter(name, "given more than once") }
            }
            switch name {
            case "limit":
                guard let limit = Int(value), limit >= 0 else { throw Problem.badParameter(name, "expected a whole number, got '\(value)'") }
                guard limit <= ListQuery.maximumLimit else {
                    throw Problem.badParameter(name, "at most \(ListQuery.maximumLimit); follow the Link rel=\"next\" header for more")
                }
                query.limit = limit
            case "offset":
                guard let offset = Int(value), offset >= 0 else { throw Problem.badParameter(name, "expected a whole number, got '\(value)'") }
                query.offset = offset
            case "after":
                guard !value.isEmpty else { throw Problem.badParameter(name, "empty cursor") }
                query.after = value
            case "select":
                continue
            case "order":
                query.order = try order(value)
            case _ where ListQuery.groupParameters.contains(name):
                guard query.groups.count(where: { $0.parameter == name }) < ListQuery.maximumGroupsPerParameter else {
                    throw Problem.badParameter(name, "more than \(ListQuery.maximumGroupsPerParameter) groups in one parameter; the limit is \(ListQuery.maximumGroupsPerParameter)")
                }
                let group = try group(parameter: name, value)
                guard query.conditionCount + group.conditionCount <= RequestLimits.filters else {
                    throw Problem(.badRequest, "more than \(RequestLimits.filters) filters; the limit is \(RequestLimits.filters) conditions per request, those in groups included")
                }
                query.groups.append(group)
            default:
                guard query.conditionCount < RequestLimits.filters else {
                    throw Problem(.badRequest, "more than \(RequestLimits.filters) filters; the limit is \(RequestLimits.filters) filter parameters per request")
                }
                if try applyEmbedded(name, value, to: &query.embeds) { continue }
                guard query.filters.count(where: { $0.column == name }) < ListQuery.maximumFiltersPerColumn else {
                    throw Problem.badParameter(name, "more than \(ListQuery.maximumFiltersPerColumn) filters on one column; the limit is \(ListQuery.maximumFiltersPerColumn)")
                }
                query.filters.append(try filter(column: name, value))
            }
        }
        // A group given to an embedded relation is counted here.
        guard query.conditionCount <= RequestLimits.filters else {
            throw Problem(.badRequest, "more than \(RequestLimits.filters) filters; the limit is \(RequestLimits.filters) conditions per request, those in groups included")
        }
        return query
    }

    /// `column.asc,column2.desc` (the direction may be left out: ascending).
    static func order(_ value: String) throws(Problem) -> [Ordering] {
        var order: [Ordering] = []
        for term in split(value, at: ",") {
            var parts = split(term, at: ".")
            var descending = false
            if parts.count > 1, let direction = parts.last, direction == "asc" || direction == "desc" {
                descending = direction == "desc"
                parts.removeLast()
            }
            let column = parts.joined(separator: ".")
            guard !column.isEmpty else { throw Problem.badParameter("order", "expected column.asc or column.desc, separated by commas") }
            order.append(Ordering(column: column, descending: descending))
        }
        return order
    }

    /// `text` cut at every `separator` scalar (empty pieces kept).
    static func split(_ text: String, at separator: Unicode.Scalar) -> [String] {
        text.unicodeScalars.split(separator: separator, omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
    }

    static func filter(column: String, _ text: String) throws(Problem) -> Filter {
        var rest = Substring(text).unicodeScalars
        var negated = false
        if rest.starts(with: "not.".unicodeScalars) {
            negated = true
            rest = rest.dropFirst(4)
        }
        guard let dot = rest.firstIndex(of: "."), let op = FilterOperator(rawValue: String(Substring(rest[..<dot]))) else {
            let names = FilterOperator.allCases.map(\.rawValue).joined(separator: ", ")
            throw Problem.badParameter(column, "expected an operator and a value such as eq.5; operators: \(names), each may follow not.")
        }
        let operand = rest[rest.index(after: dot)...]
        switch op {
        case .is:
            switch String(Substring(operand)) {
            case "null": return Filter(column: column, op: op, negated: negated, operand: .null)
            case "true": return Filter(column: column, op: op, negated: negated, operand: .true)
            case "false": return Filter(column: column, op: op, negated: negated, operand: .false)
            default: throw Problem.badParameter(column, "is takes null, true or false")
            }
        case .in:
            guard operand.first == "(", operand.last == ")", operand.count >= 2 else {
                throw Problem.badParameter(column, "in takes a list in parentheses: in.(1,2,\"a,b\")")
            }
            guard let items = list(operand.dropFirst().dropLast()) else {
                throw Problem.badParameter(column, "unbalanced quotes in the in.(...) list")
            }
            guard items.count <= RequestLimits.inListItems else {
                throw Problem.badParameter(column, "\(items.count) items in the in.(...) list; the limit is \(RequestLimits.inListItems) items")
            }
            return Filter(column: column, op: op, negated: negated, operand: .list(items))
        default:
            return Filter(column: column, op: op, negated: negated, operand: .value(String(Substring(operand))))
        }
    }

    /// `a,b,"c,d","say \"hi\""` → ["a", "b", "c,d", "say \"hi\""]; empty → [].
    static func list(_ text: Substring.UnicodeScalarView) -> [String]? {
        guard !text.isEmpty else { return [] }
        var items: [String] = []
        var current = String.UnicodeScalarView()
        var quoted = false
        var wasQuoted = false
        var iterator = text.makeIterator()
        while let scalar = iterator.next() {
            if quoted {
                switch scalar {
                case "\\":
                    guard let next = iterator.next() else { return nil }
                    current.append(next)
                case "\"": quoted = false
                default: current.append(scalar)
                }
            } else {
                switch scalar {
                case "\"" where current.isEmpty && !wasQuoted:
                    quoted = true
                    wasQuoted = true
                case ",":
                    items.append(String(current))
                    current = String.UnicodeScalarView()
                    wasQuoted = false
                default:
                    guard !wasQuoted else { return nil }
                    current.append(scalar)
                }
            }
        }
        guard !quoted else { return nil }
        items.append(String(current))
        return items
    }
}
