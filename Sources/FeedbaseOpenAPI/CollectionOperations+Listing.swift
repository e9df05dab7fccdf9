// `GET /{collection}`: a filter parameter per column, `order`, `select` and the paging
// parameters; with the feed, the same URL as a live query (`text/event-stream`).

import FeedbaseModel

extension CollectionOperations {
    // MARK: GET /{collection}

    var list: DocumentValue {
        var parameters = filterParameters(excluding: ListQuery.reservedParameters)
        parameters += groupParameters
        if let order = orderParameter { parameters.append(order) }
        if let select = selectParameter(embedding: true) { parameters.append(select) }
        parameters += [Parameters.reference("Limit"), Parameters.reference("Offset"), Parameters.reference("After")]
        parameters += [Parameters.reference("Prefer"), requestID]
        let okHeaders: [(String, DocumentValue)] = [
            ("Link", header("Link")), ("Content-Range", header("ContentRange")), ("Preference-Applied", header("PreferenceApplied")),
        ]
        var ok: DocumentValue = [
            "description": "The page (possibly empty).",
            "headers": successHeaders(okHeaders, changeSeq: "XChangeSeqListing"),
            "content": json(["type": "array", "items": schemaReference(names.listItem)]),
        ]
        var responses: [(String, DocumentValue)] = [("400", response("BadRequest"))]
        if feed {
            // The same URL asked as `text/event-stream` is the live query, which may also answer
            // 410 (since pruned) and 503 (the server's limit of distinct bands).
            ok["description"] = .string(Texts.listingStream)
            ok["content"]?["text/event-stream"] = ["schema": ["type": "string"]]
            responses.append(("410", response("Gone")))
        }
        responses += [("500", response("InternalServerError")), ("503", response(feed ? "ServiceUnavailableLiveQuery" : "ServiceUnavailable"))]
        return [
            "operationId": .string(names.listOperation),
            "tags": [.string(names.tag)],
            "summary": .string("List \(collection.name)"),
            "description": .string(Texts.listing),
            "parameters": .array(parameters),
            "responses": AccessControl.guarded([("200", ok)] + responses),
        ]
    }

    /// A filter parameter for every column but those named like `reserved` parameters, which the
    /// route takes for itself.
    func filterParameters(excluding reserved: Set<String>) -> [DocumentValue] {
        let reserved = reserved.union(ListQuery.groupParameters)
        return collection.columns.filter { !reserved.contains($0.name) && !$0.name.isEmpty }.map {
            filterParameter($0, maxItems: ListQuery.maximumFiltersPerColumn)
        }
    }

    /// The columns a group's condition can name (QueryParameters.group ends the name at a dot).
    private var groupColumns: [Column] {
        collection.columns.filter { column in
            !column.name.isEmpty && !column.name.unicodeScalars.contains { ".,()\"".unicodeScalars.contains($0) }
        }
    }

    /// The text of a group (`TaskConditions`): one level of at most three conditions of the
    /// subset `ValueSyntax.groupCondition` describes, on the columns whose names a group can
    /// spell. The server takes more (nesting, lists, dates). Nil when no column can be named.
    var conditionsSchema: DocumentValue? {
        guard !groupColumns.isEmpty else { return nil }
        let member = "(?:" + groupColumns.map { ValueSyntax.escaped($0.name) + "\\." + ValueSyntax.groupCondition($0.type) }.joined(separator: "|") + ")"
        return ["type": "string", "pattern": .string("^\\(" + member + "(?:," + member + "){0,2}\\)$")]
    }

    /// `or`, `and`, `not.or`, `not.and`: conditions in parentheses (`conditionsSchema`).
    var groupParameters: [DocumentValue] {
        guard !groupColumns.isEmpty else { return [] }
        return ["or", "and", "not.or", "not.and"].map { name in
            let negated = name.hasPrefix("not.")
            let joiner = name.hasSuffix("or") ? "OR" : "AND"
            let description =
                "Conditions joined by \(joiner)\(negated ? ", the whole negated" : ""): `\(name)=(priority.gt.3,due.is.null)`. The pattern "
                + "describes a subset (`is`, and comparisons of numbers, booleans and text); lists, dates and nesting are accepted too. "
                + "Each is `column.op.value` or `column.not.op.value` with the operators of the column's own filter; a value "
                + "holding `,`, `(`, `)` or `\"` is written in double quotes (`title.eq.\"a, b\"`, `\\` escapes). Groups nest: "
                + "`or(...)`, `and(...)`, `not.or(...)`, `not.and(...)` as members, at most \(ListQuery.maximumGroupDepth) levels. "
                + "Repeat the parameter for several groups (at most \(ListQuery.maximumGroupsPerParameter)); they AND together with the other filters, and their conditions count "
                + "against the \(ListQuery.maximumFilters) conditions a request may hold."
            return [
                "name": .string(name),
                "in": "query",
                "description": .string(description),
                "style": "form",
                "explode": true,
                "schema": [
                    "type": "array", "items": schemaReference(names.conditions), "minItems": 1,
                    "maxItems": .integer(Int64(ListQuery.maximumGroupsPerParameter)),
                ],
            ]
        }
    }

    /// A filter on `column`: one condition per value, the parameter repeated for several
    /// (`priority=gte.2&priority=lte.4`), which the server ANDs (QueryParameters.listQuery keeps
    /// every one). An array exploded as a form, so that a generated client can send repeats.
    private func filterParameter(_ column: Column, maxItems: Int) -> DocumentValue {
        let operators = ValueSyntax.operators(column.type).joined(separator: ", ")
        let description =
            "Filter on `\(column.name)` (\(column.type.rawValue)): `op.value`, or `not.op.value`, with op one of \(operators). "
            + "`in.(a,b)` takes a list (quote items holding commas: `in.(\"a,b\",c)`); `is.null`"
            + (column.type == .boolean ? ", `is.true`, `is.false`" : "")
            + ". Values are parsed by the column's type; a value that does not parse is refused with 400. "
            + "Each value is one condition: repeat the parameter (`\(column.name)=...&\(column.name)=...`) and the "
            + "conditions AND together. A request takes at most \(maxItems) filters on one column, "
            + "\(ListQuery.maximumFilters) in all, and \(ListQuery.maximumInItems) items in one `in` list."
        return [
            "name": .string(column.name),
            "in": "query",
            "description": .string(description),
            "style": "form",
            "explode": true,
            "schema": [
                "type": "array",
                "items": ["type": "string", "pattern": .string(ValueSyntax.filter(column.type))],
                "minItems": 1,
                "maxItems": .integer(Int64(maxItems)),
            ],
        ]
    }

    /// `order`: distinct sortable columns (not blob or JSON), each `.asc` or `.desc`; the key may
    /// end the list (ListPlan.sortKeys). Nil when nothing can be ordered by.
    private var orderParameter: DocumentValue? {
        let key = collection.primaryKey
        let sortable = collection.columns.filter { column in
            column.type != .blob && column.type != .json && !column.name.isEmpty && !column.name.contains(",")
                && !column.name.hasSuffix(".asc") && !column.name.hasSuffix(".desc")
        }
        let others = sortable.filter { !$0.isPrimaryKey }.map(\.name)
        let keyIsSortable = sortable.contains { $0.isPrimaryKey }
        guard !others.isEmpty || keyIsSortable else { return nil }
        let direction = "(?:\\.(?:asc|desc))?"
        var lasts: [String] = []
        if !others.isEmpty { lasts.append(ValueSyntax.alternation(others) + direction) }
        if keyIsSortable { lasts.append(ValueSyntax.alternation([key.name]) + direction) }
        var pattern = "^"
        if !others.isEmpty {
            // No column twice (a repeated column is refused with 400).
            let names = ValueSyntax.alternation(others)
            pattern += "(?!(?:[^,]*,)*(" + names + ")" + direction + ",(?:[^,]*,)*\\1" + direction + "(?:,|$))"
            pattern += "(?:" + names + direction + ",)*"
        }
        pattern += "(?:" + lasts.joined(separator: "|") + ")$"
        return Parameters.query(
            "order", ["type": "string", "pattern": .string(pattern)],
            Texts.order)
    }

    /// `select`: columns, and with `embedding` (listings; a band's items are single rows) the
    /// relations to embed.
    func selectParameter(embedding: Bool) -> DocumentValue? {
        func columns(_ collection: CollectionSchema) -> [String] {
            collection.columns.map(\.name).filter { !$0.isEmpty && !$0.unicodeScalars.contains { ",()*".unicodeScalars.contains($0) } }
        }
        let own = columns(collection)
        guard !own.isEmpty else { return nil }
        // One level of embedding: a relation with its target's columns (or `*`). Deeper nesting,
        // aliases and `!` are accepted too (docs/API.md, Embedding).
        var terms = own.map(ValueSyntax.escaped) + ["\\*"]
        guard embedding else {
            return Parameters.query(
                "select", ["type": "string", "pattern": .string("^" + ValueSyntax.alternation(own) + "(?:," + ValueSyntax.alternation(own) + ")*$")],
                "Only these keys in each item, comma-separated, in this order (e.g. `id,title`).")
        }
        for relation in collection.documentedRelations(in: schema) where !relation.name.unicodeScalars.contains(where: { ",()*:!.".unicodeScalars.contains($0) }) {
            let inner = "(?:" + (columns(relation.target).map(ValueSyntax.escaped) + ["\\*"]).joined(separator: "|") + ")"
            terms.append(ValueSyntax.escaped(relation.name) + "\\(" + inner + "(?:," + inner + ")*\\)")
        }
        let term = "(?:" + terms.joined(separator: "|") + ")"
        // A relation embedded twice needs an alias (400 without): the lookahead refuses a
        // relation's name followed by `(` twice (a column is never followed by one).
        let relations = collection.documentedRelations(in: schema).map(\.name).filter { !$0.unicodeScalars.contains(where: { ",()*:!.".unicodeScalars.contains($0) }) }
        let once = relations.isEmpty ? "" : "(?!.*(?:^|,)(" + relations.map(ValueSyntax.escaped).joined(separator: "|") + ")\\(.*,\\1\\()"
        return Parameters.query(
            "select", ["type": "string", "pattern": .string("^" + once + term + "(?:," + term + ")*$")],
            "Only these keys in each item, comma-separated, in this order (e.g. `id,title`); `*` is every column. "
                + "`relation(columns)` embeds related items through a foreign key: a to-one relation is named by its column "
                + "without `_id` (`project(name)`), a to-many one by the referencing collection (`tasks(id,title)`); "
                + "`alias:relation!fk_column(...)` names the key and picks one of two foreign keys; embeds nest. Embedded rows "
                + "take their own filters, `or`/`and`, `order`, `limit` and `offset` as `relation.column=op.value`, "
                + "`relation.order=...` and so on (docs/API.md, Embedding).")
    }
}
