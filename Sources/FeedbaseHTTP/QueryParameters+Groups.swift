// Logic groups in a query string: `or=(a.eq.1,b.gt.2)`, `and=(...)`, `not.or=(...)` and
// `not.and=(...)`, whose members are `column.[not.]op.value` conditions and nested groups
// `or(...)`, `and(...)`, `not.or(...)`, `not.and(...)`.
//
// A value that holds `,`, `(`, `)` or starts with `"` is written in double quotes, with `\`
// escaping the next character: `title.eq."a, b"`. `in.(...)` lists keep their own syntax (their
// quoted items included). Delimiters are found among Unicode scalars, as in QueryParameters.

import FeedbaseModel

extension QueryParameters {
    /// The group a parameter of `ListQuery.groupParameters` names.
    static func group(parameter: String, _ text: String) throws(Problem) -> FilterGroup {
        let negated = parameter.hasPrefix("not.")
        let any = parameter.hasSuffix("or")
        let scalars = Substring(text).unicodeScalars
        guard scalars.first == "(", scalars.last == ")", scalars.count >= 2 else {
            throw Problem.badParameter(parameter, "expected conditions in parentheses: \(parameter)=(priority.gt.3,due.lt.2026-01-01)")
        }
        let group = try members(scalars.dropFirst().dropLast(), any: any, negated: negated, parameter: parameter, depth: 1)
        return group
    }

    private static func members(
        _ text: Substring.UnicodeScalarView, any: Bool, negated: Bool, parameter: String, depth: Int
    ) throws(Problem) -> FilterGroup {
        guard depth <= ListQuery.maximumGroupDepth else {
            throw Problem.badParameter(parameter, "groups nested deeper than \(ListQuery.maximumGroupDepth) levels")
        }
        guard let items = topLevelItems(text) else {
            throw Problem.badParameter(parameter, "unbalanced parentheses or quotes")
        }
        var group = FilterGroup(any: any, negated: negated, members: [], parameter: parameter)
        for item in items {
            guard !item.isEmpty else {
                throw Problem.badParameter(parameter, "an empty condition; conditions are column.op.value, separated by commas")
            }
            var rest = item
            var negatedItem = false
            if rest.starts(with: "not.".unicodeScalars) {
                negatedItem = true
                rest = rest.dropFirst(4)
            }
            if let kind = ["or", "and"].first(where: { rest.starts(with: ($0 + "(").unicodeScalars) }), rest.last == ")" {
                let inner = rest.dropFirst(kind.count + 1).dropLast()
                group.members.append(.group(try members(inner, any: kind == "or", negated: negatedItem, parameter: parameter, depth: depth + 1)))
                continue
            }
            // column.[not.]op.value: the column ends at the first dot.
            guard let dot = item.firstIndex(of: "."), dot != item.startIndex else {
                throw Problem.badParameter(parameter, "expected column.op.value or a nested or(...)/and(...), got '\(String(String.UnicodeScalarView(item)))'")
            }
            let column = String(String.UnicodeScalarView(item[..<dot]))
            let condition = String(String.UnicodeScalarView(item[item.index(after: dot)...]))
            var filter: Filter
            do {
                filter = try QueryParameters.filter(column: column, condition)
            } catch {
                throw Problem.badParameter(parameter, "\(column): \(error.errors.first?.detail ?? error.detail)")
            }
            if case .value(let value) = filter.operand, value.unicodeScalars.first == "\"" {
                guard let unquoted = unquote(Substring(value).unicodeScalars) else {
                    throw Problem.badParameter(parameter, "\(column): a quoted value must end with its closing quote")
                }
                filter.operand = .value(unquoted)
            }
            group.members.append(.filter(filter))
        }
        return group
    }

    /// `text` cut at the commas outside parentheses and double quotes; nil when they do not balance.
    static func topLevelItems(_ text: Substring.UnicodeScalarView) -> [Substring.UnicodeScalarView]? {
        var items: [Substring.UnicodeScalarView] = []
        var depth = 0
        var quoted = false
        var escaped = false
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let scalar = text[index]
            if escaped {
                escaped = false
            } else if quoted {
                switch scalar {
                case "\\": escaped = true
                case "\"": quoted = false
                default: break
                }
            } else {
                switch scalar {
                case "\"": quoted = true
                case "(": depth += 1
                case ")":
                    depth -= 1
                    if depth < 0 { return nil }
                case "," where depth == 0:
                    items.append(text[start..<index])
                    start = text.index(after: index)
                default: break
                }
            }
            index = text.index(after: index)
        }
        guard depth == 0, !quoted, !escaped else { return nil }
        items.append(text[start..<text.endIndex])
        return items
    }

    /// `"a \"b\""` → `a "b"`; nil unless the text is exactly one quoted string.
    static func unquote(_ text: Substring.UnicodeScalarView) -> String? {
        guard text.first == "\"", text.count >= 2 else { return nil }
        var out = String.UnicodeScalarView()
        var iterator = text.dropFirst().makeIterator()
        while let scalar = iterator.next() {
            switch scalar {
            case "\\":
                guard let next = iterator.next() else { return nil }
                out.append(next)
            case "\"":
                return iterator.next() == nil ? String(out) : nil
            default:
                out.append(scalar)
            }
        }
        return nil
    }
}
