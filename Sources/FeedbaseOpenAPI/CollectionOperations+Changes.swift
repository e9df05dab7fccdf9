// `GET /_changes/{collection}`: a band (the listing's filter and `select`, narrowed by the
// caller's read rule) caught up over plain HTTP, in pages of its messages, with the long poll of
// `/_changes`; a feed route, so it takes the token as `access_token` too.

import FeedbaseModel

extension CollectionOperations {
    /// Parameters `/_changes/{collection}` takes for itself besides the listing's reserved ones
    /// (BandRequest.make ignores `order`, `offset` and `after`; the API takes `access_token` as
    /// the credentials of a feed route): a column named like one of them cannot be filtered there.
    static let changesParameters: Set<String> = ["since", "wait", "access_token"]

    var changes: DocumentValue {
        var parameters = filterParameters(excluding: ListQuery.reservedParameters.union(Self.changesParameters))
        parameters += groupParameters
        if let select = selectParameter(embedding: false) { parameters.append(select) }
        parameters += [
            Parameters.query("since", Parameters.sinceSchema(Texts.bandChangesSince), Texts.bandChangesSince),
            Parameters.query("limit", Parameters.changesLimit, "At most this many messages."),
            Parameters.query("wait", Parameters.changesWait, "Seconds to wait for a message of the band when there is none yet."),
            requestID,
        ]
        return [
            "operationId": .string(names.changesOperation),
            "tags": [.string(names.tag)],
            "summary": .string("Catch up on a live query of \(collection.name) over plain HTTP"),
            "description": .string(Texts.bandChanges),
            "parameters": .array(parameters),
            "security": AccessControl.feed,
            "responses": AccessControl.guarded([
                ("200", [
                    "description": "The band's messages (possibly none).",
                    "headers": successHeaders([]),
                    "content": json(schemaReference(names.bandChanges)),
                ]),
                ("400", response("BadRequest")),
                ("410", response("Gone")),
                ("500", response("InternalServerError")),
                ("503", response("ServiceUnavailable")),
            ]),
        ]
    }
}
