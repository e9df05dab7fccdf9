// `select` with embedded relations, `select=id,title,project(name),tasks(id,comments(*))`, and the
// parameters of embedded rows, named by the relation's path: `tasks.done=eq.false`,
// `tasks.order=priority.desc`, `tasks.limit=5`, `tasks.offset=5`, `tasks.or=(...)`,
// `tasks.comments.limit=2`. An embed is `[alias:]relation[!fk_column](columns...)`; `*` is every
// column. Whether a relation exists is the store's to say (Relation.resolve).

import FeedbaseModel

extension QueryParameters {
    /// The columns (nil for all) and the embedded relations of a `select` value.
    static func selection(_ value: String) throws(Problem) -> (columns: [String]?, embeds: [Embed]) {
        try selection(Substring(value).unicodeScalars, depth: 0)
    }

    private static func selection(_ text: Substring.UnicodeScalarView, depth: Int) throws(Problem) -> (columns: [String]?, embeds: [Embed]) {
        guard depth <= Embed.maximumDepth else {
            throw Problem.badParameter("select", "embedding nested deeper than \(Embed.maximumDepth) levels")
        }
        guard let items = topLevelItems(text) else { throw Problem.badParameter("select", "unbalanced parentheses") }
        var columns: [String] = []
        var all = false
        var embeds: [Embed] = []
        for item in items {
            guard !item.isEmpty else {
                throw Problem.badParameter("select", "expected column names and relation(columns) separated by commas")
            }
            guard let open = item.firstIndex(of: "(") else {
                let name = String(String.UnicodeScalarView(item))
                if name == "*" { all = true } else { columns.append(name) }
                continue
            }
            guard item.last == ")" else { throw Problem.badParameter("select", "expected relation(columns), got '\(String(String.UnicodeScalarView(item)))'") }
            var head = item[..<open]
            var alias: String?
            if let colon = head.firstIndex(of: ":") {
                alias = String(String.UnicodeScalarView(head[..<colon]))
                head = head[head.index(after: colon)...]
            }
            var hint: String?
            if let bang = head.firstIndex(of: "!") {
                hint = String(String.UnicodeScalarView(head[head.index(after: bang)...]))
                head = head[..<bang]
            }
            let relation = String(String.UnicodeScalarView(head))
            guard !relation.isEmpty, alias?.isEmpty != true, hint?.isEmpty != true, !relation.contains(".") else {
                throw Problem.badParameter("select", "expected [alias:]relation[!fk_column](columns), got '\(String(String.UnicodeScalarView(item)))'")
            }
            let inner = try selection(item[item.index(after: open)..<item.index(before: item.endIndex)], depth: depth + 1)
            var embed = Embed(key: alias ?? relation, relation: relation, hint: hint, columns: inner.columns)
            embed.embeds = inner.embeds
            guard !embeds.contains(where: { $0.key == embed.key }) else {
                throw Problem.badParameter("select", "'\(embed.key)' is embedded twice; give one an alias (other:\(relation)(...))")
            }
            embeds.append(embed)
        }
        return (all ? nil : columns, embeds)
    }

    /// What a single item's GET takes: `select` and its embedded relations' parameters; any
    /// other parameter is ignored, as it always was there.
    static func itemQuery(_ pairs: [(String, String)]) throws(Problem) -> ListQuery {
        var query = ListQuery()
        let selects = pairs.filter { $0.0 == "select" }
        guard let select = selects.first?.1 else { return query }
        guard selects.count == 1 else { throw Problem.badParameter("select", "given more than once") }
        (query.select, query.embeds) = try selection(select)
        for (name, value) in pairs where name != "select" {
            _ = try applyEmbedded(name, value, to: &query.embeds)
        }
        guard query.conditionCount <= RequestLimits.filters else {
            throw Problem(.badRequest, "more than \(RequestLimits.filters) filters; the limit is \(RequestLimits.filters) conditions per request")
        }
        return query
    }

    /// Applies `name=value` to the embedded relation its path names; false when `name` does not
    /// start with an embedded relation's key.
    static func applyEmbedded(_ name: String, _ value: String, to embeds: inout [Embed]) throws(Problem) -> Bool {
        try route(Substring(name), value, full: name, in: &embeds)
    }

    private static func route(_ rest: Substring, _ value: String, full: String, in embeds: inout [Embed]) throws(Problem) -> Bool {
        guard let dot = rest.firstIndex(of: "."), let index = embeds.firstIndex(where: { $0.key == rest[..<dot] }) else { return false }
        let after = rest[rest.index(after: dot)...]
        if try route(after, value, full: full, in: &embeds[index].embeds) { return true }
        try apply(String(after), value, full: full, to: &embeds[index])
        return true
    }

    private static func apply(_ name: String, _ value: String, full: String, to embed: inout Embed) throws(Problem) {
        switch name {
        case "limit":
            guard embed.limit == nil else { throw Problem.badParameter(full, "given more than once") }
            guard let limit = Int(value), limit >= 0 else { throw Problem.badParameter(full, "expected a whole number, got '\(value)'") }
            guard limit <= Embed.maximumLimit else { throw Problem.badParameter(full, "at most \(Embed.maximumLimit) embedded rows") }
            embed.limit = limit
        case "offset":
            guard let offset = Int(value), offset >= 0 else { throw Problem.badParameter(full, "expected a whole number, got '\(value)'") }
            embed.offset = offset
        case "order":
            do { embed.order = try order(value) } catch { throw Problem.badParameter(full, error.errors.first?.detail ?? error.detail) }
        case "select", "after":
            throw Problem.badParameter(full, "an embedded relation's columns go in select (\(embed.key)(id,name)), and it has no cursor")
        case _ where ListQuery.groupParameters.contains(name):
            guard embed.groups.count(where: { $0.parameter == name }) < ListQuery.maximumGroupsPerParameter else {
                throw Problem.badParameter(full, "more than \(ListQuery.maximumGroupsPerParameter) groups in one parameter; the limit is \(ListQuery.maximumGroupsPerParameter)")
            }
            do { embed.groups.append(try group(parameter: name, value)) } catch {
                throw Problem.badParameter(full, error.errors.first?.detail ?? error.detail)
            }
        default:
            guard embed.filters.count(where: { $0.column == name }) < ListQuery.maximumFiltersPerColumn else {
                throw Problem.badParameter(full, "more than \(ListQuery.maximumFiltersPerColumn) filters on one column; the limit is \(ListQuery.maximumFiltersPerColumn)")
            }
            do { embed.filters.append(try filter(column: name, value)) } catch {
                throw Problem.badParameter(full, error.errors.first?.detail ?? error.detail)
            }
        }
    }
}
