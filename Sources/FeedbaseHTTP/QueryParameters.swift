// The query string of a listing, parsed into a ListQuery: `column=op.value` filters (with `not.`
// and `in.(a,"b,c")`), `order`, `select`, `limit`, `offset`, `after`. Syntax errors name the
// parameter; whether a column exists and a value fits its type is the store's to say.

import FeedbaseStore

enum QueryParameters {
    static let reserved: Set<String> = ["order", "select", "limit", "offset", "after"]

    /// Name/value pairs, percent-decoded, in order.
    static func pairs(_ query: Substring?) throws(Problem) -> [(String, String)] {
        guard let query, !query.isEmpty else { return [] }
        var pairs: [(String, String)] = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentEncoding.decode(pieces[0]) else {
                throw Problem(.badRequest, "the query string is not valid percent-encoded UTF-8")
            }
            guard let value = PercentEncoding.decode(pieces.count > 1 ? pieces[1] : "") else {
                throw Problem.badParameter(name, "the value is not valid percent-encoded UTF-8")
            }
            pairs.append((name, value))
        }
        return pairs
    }

    static func listQuery(_ pairs: [(String, String)]) throws(Problem) -> ListQuery {
        var query = ListQuery()
        var seen = Set<String>()
        for (name, value) in pairs {
            if reserved.contains(name) {
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
                let columns = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard !columns.contains("") else { throw Problem.badParameter(name, "expected column names separated by commas") }
                query.select = columns
            case "order":
                var order: [Ordering] = []
                for term in value.split(separator: ",", omittingEmptySubsequences: false) {
                    var parts = term.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                    var descending = false
                    if parts.count > 1, let direction = parts.last, direction == "asc" || direction == "desc" {
                        descending = direction == "desc"
                        parts.removeLast()
                    }
                    let column = parts.joined(separator: ".")
                    guard !column.isEmpty else { throw Problem.badParameter(name, "expected column.asc or column.desc, separated by commas") }
                    order.append(Ordering(column: column, descending: descending))
                }
                query.order = order
            default:
                query.filters.append(try filter(column: name, value))
            }
        }
        return query
    }

    static func filter(column: String, _ text: String) throws(Problem) -> Filter {
        var rest = Substring(text)
        var negated = false
        if rest.hasPrefix("not.") {
            negated = true
            rest = rest.dropFirst(4)
        }
        guard let dot = rest.firstIndex(of: "."), let op = FilterOperator(rawValue: String(rest[..<dot])) else {
            let names = FilterOperator.allCases.map(\.rawValue).joined(separator: ", ")
            throw Problem.badParameter(column, "expected an operator and a value such as eq.5; operators: \(names), each may follow not.")
        }
        let operand = rest[rest.index(after: dot)...]
        switch op {
        case .is:
            switch operand {
            case "null": return Filter(column: column, op: op, negated: negated, operand: .null)
            case "true": return Filter(column: column, op: op, negated: negated, operand: .true)
            case "false": return Filter(column: column, op: op, negated: negated, operand: .false)
            default: throw Problem.badParameter(column, "is takes null, true or false")
            }
        case .in:
            guard operand.hasPrefix("("), operand.hasSuffix(")"), operand.count >= 2 else {
                throw Problem.badParameter(column, "in takes a list in parentheses: in.(1,2,\"a,b\")")
            }
            guard let items = list(operand.dropFirst().dropLast()) else {
                throw Problem.badParameter(column, "unbalanced quotes in the in.(...) list")
            }
            return Filter(column: column, op: op, negated: negated, operand: .list(items))
        default:
            return Filter(column: column, op: op, negated: negated, operand: .value(String(operand)))
        }
    }

    /// `a,b,"c,d","say \"hi\""` → ["a", "b", "c,d", "say \"hi\""]; empty → [].
    static func list(_ text: Substring) -> [String]? {
        guard !text.isEmpty else { return [] }
        var items: [String] = []
        var current = ""
        var quoted = false
        var wasQuoted = false
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            if quoted {
                switch character {
                case "\\":
                    guard let next = iterator.next() else { return nil }
                    current.append(next)
                case "\"": quoted = false
                default: current.append(character)
                }
            } else {
                switch character {
                case "\"" where current.isEmpty && !wasQuoted:
                    quoted = true
                    wasQuoted = true
                case ",":
                    items.append(current)
                    current = ""
                    wasQuoted = false
                default:
                    guard !wasQuoted else { return nil }
                    current.append(character)
                }
            }
        }
        guard !quoted else { return nil }
        items.append(current)
        return items
    }
}
