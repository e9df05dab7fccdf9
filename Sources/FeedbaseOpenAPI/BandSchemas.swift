// The band protocol of the WebSocket feed, for the AsyncAPI document: the client's `subscribe`
// and `unsubscribe`, and the server's answers and band messages (WebSocketBands in FeedbaseHTTP).
// Every answer about a subscription carries the client's `id`; band messages carry the band's
// server-assigned name (`band`), which `subscribed` told.

enum BandSchemas {
    private static let seq: DocumentValue = ["type": "integer", "format": "int64", "minimum": 0]
    private static let id: DocumentValue = [
        "type": "string", "minLength": 1, "maxLength": 64,
        "description": "The client's name for the subscription: 1 to 64 bytes of UTF-8, unique among the socket's subscriptions.",
    ]
    private static let band: DocumentValue = [
        "type": "string",
        "description": "The band's name, given by the server in `subscribed`; the band's messages carry it.",
    ]

    /// A closed object of `type` (a const) and further members, all required but those named
    /// `optional`.
    private static func message(_ type: String, _ description: String, _ members: [(String, DocumentValue)], optional: Set<String> = [])
        -> DocumentValue
    {
        let properties = [("type", ["const": .string(type)] as DocumentValue)] + members
        return [
            "type": "object",
            "description": .string(description),
            "properties": .object(ordered: properties),
            "required": .array(properties.map(\.0).filter { !optional.contains($0) }.map { .string($0) }),
            "additionalProperties": false,
        ]
    }

    /// The component schemas of the band protocol, after the collections' own (`TaskBandMessage`).
    static func schemas(_ names: [CollectionNames]) -> [(String, DocumentValue)] {
        let since = Parameters.sinceSchema(Texts.bandSubscribeSince)
        return [
            ("Subscribe", message("subscribe", Texts.subscribe, [
                ("id", id),
                ("url", ["type": "string", "minLength": 1, "description": .string(Texts.subscribeURL)]),
                ("since", since),
            ], optional: ["since"])),
            ("Unsubscribe", message("unsubscribe", "End the subscription with this id.", [("id", id)])),
            ("Subscribed", message("subscribed", "The subscription is made; its backlog, `ready` and live messages follow.", [
                ("id", id), ("band", band),
            ])),
            ("BandChangeEvent", changeEvent(names)),
            ("BandReady", message("ready", "Every message of the band after `since` up to `seq` has been sent; live messages follow.", [
                ("id", id), ("band", band), ("seq", seq),
            ])),
            ("BandProgress", message("progress", "The log moved to `seq` with nothing for this band: resume from here.", [
                ("id", id), ("band", band), ("seq", seq),
            ])),
            ("BandReset", message("reset", Texts.bandReset, [("id", id), ("band", band), ("oldest", seq)])),
            ("Unsubscribed", message("unsubscribed", "The subscription ended: nothing more of it follows.", [("id", id)])),
            ("BandError", message("error", Texts.bandError, [
                ("id", ["type": ["string", "null"], "description": "The refused message's id; null when it had none usable."]),
                ("problem", ["$ref": "#/components/schemas/MessageProblem"]),
            ])),
            ("MessageProblem", messageProblem),
            ("Auth", message("auth", auth, [("token", ["type": "string", "minLength": 1, "description": "An API key or a JWT, as after `Bearer `."])])),
            ("Authenticated", message("authenticated", "The credential of the `auth` before it is in force; every band was judged again (those ended have had `ended`).", [])),
            ("BandEnded", message("ended", ended, [
                ("id", id), ("band", band),
                // Why the new identity may not follow the URL; absent when it may, with other rows.
                ("problem", ["$ref": "#/components/schemas/MessageProblem"]),
            ], optional: ["problem"])),
        ]
    }

    /// A band message of any collection, told apart by `collection`.
    private static func changeEvent(_ names: [CollectionNames]) -> DocumentValue {
        guard !names.isEmpty else { return ["type": "object", "description": "No collection, so no band message."] }
        return [
            "description": "A band's message: a change event with the band's name after `seq`, the band's op and the item narrowed to `select`.",
            "oneOf": .array(names.map { ["$ref": .string("#/components/schemas/" + $0.bandMessage)] }),
        ]
    }

    /// The RFC 9457 problem of an `error` message: as over HTTP, without `instance` and `requestId`.
    private static var messageProblem: DocumentValue {
        var problem = Components.problem
        problem["description"] = "An RFC 9457 problem, as HTTP answers it but without `instance` and `requestId`."
        problem["properties"]?["instance"] = nil
        problem["properties"]?["requestId"] = nil
        problem["required"] = ["type", "title", "status", "detail"]
        return problem
    }

    /// The messages, in the order the channel lists them.
    static let messageNames = [
        "subscribe", "unsubscribe", "subscribed", "bandChange", "bandReady", "bandProgress", "bandReset", "unsubscribed", "error",
        "auth", "authenticated", "bandEnded",
    ]

    static let messages: [(String, DocumentValue)] = [
        ("subscribe", entry("subscribe", "Follow a live query", "Subscribe", Texts.subscribe)),
        ("unsubscribe", entry("unsubscribe", "Stop following a live query", "Unsubscribe", nil)),
        ("subscribed", entry("subscribed", "A subscription is made", "Subscribed", nil)),
        ("bandChange", entry("bandChange", "A band's change", "BandChangeEvent", Texts.bandMessage)),
        ("bandReady", entry("bandReady", "End of a band's backlog", "BandReady", nil)),
        ("bandProgress", entry("bandProgress", "A band's progress", "BandProgress", nil)),
        ("bandReset", entry("bandReset", "Gap: a band's events were pruned", "BandReset", Texts.bandReset)),
        ("unsubscribed", entry("unsubscribed", "A subscription ended", "Unsubscribed", nil)),
        ("error", entry("error", "A message was refused", "BandError", Texts.bandError)),
        ("auth", entry("auth", "Replace the socket's credential", "Auth", auth)),
        ("authenticated", entry("authenticated", "The new credential is in force", "Authenticated", nil)),
        ("bandEnded", entry("bandEnded", "A subscription ended by a new credential", "BandEnded", ended)),
    ]

    static let auth = "Replace the socket's credential in place (a refreshed JWT, another user): every subscription is judged again "
        + "as the new identity's. One it reads alike (same filter and read rule) goes on without a gap; any other gets `ended`. "
        + "Answered with `authenticated`, or an `error` (status 401, id null) when the token is refused, which leaves the socket as it was. "
        + "A socket that also carries the firehose is closed with 4403 when the new identity may not read it."
    static let ended = "The socket's new credential reads this subscription's URL otherwise: nothing more of it follows. "
        + "Read the listing again and subscribe anew (with the problem, the new identity may not follow it at all)."


    private static func entry(_ name: String, _ title: String, _ payload: String, _ description: String?) -> DocumentValue {
        var message: DocumentValue = ["name": .string(name), "title": .string(title)]
        if let description { message["description"] = .string(description) }
        message["contentType"] = "application/json"
        message["payload"] = ["$ref": .string("#/components/schemas/" + payload)]
        return message
    }
}
