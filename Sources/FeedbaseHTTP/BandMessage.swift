// A client message of the WebSocket band protocol (WebSocketBands.swift), read and checked apart
// from acting on it, so that what a message may be is said in one place and the fuzz target of
// client messages (Tests/Fuzz) reads them exactly as a socket does.

import FeedbaseModel

enum BandMessage: Equatable {
    case subscribe(id: String, url: String, since: Int64?)
    case unsubscribe(id: String)
    /// `{"type":"auth","token":"..."}`: the socket's credential replaced in place (an API key
    /// or a JWT, as after `Bearer `); it carries no id: its answer comes in order.
    case auth(token: String)

    /// The subscription the message names (an `auth` names none).
    var id: String? {
        switch self {
        case .subscribe(let id, _, _), .unsubscribe(let id): id
        case .auth: nil
        }
    }

    /// A message refused: the problem to answer with, and the message's id when it had a usable one.
    struct Refusal: Error {
        var id: String?
        var problem: Problem

        init(_ id: String?, _ problem: Problem) {
            self.id = id
            self.problem = problem
        }
    }

    static func parse(_ message: [UInt8]) throws(Refusal) -> BandMessage {
        var fields: [String: Range<Int>] = [:]
        guard let members = RowImage.members(of: message) else {
            throw Refusal(nil, Problem(.badRequest, #"a message is a JSON object such as {"type":"subscribe","id":"mine","url":"/tasks?done=is.false"}"#))
        }
        for member in members { fields[member.key] = member.raw }
        func text(_ key: String) -> String? { fields[key].flatMap { RowImage.string(message[$0]) } }
        let id = text("id")
        if fields["id"] != nil && !(1...64).contains(id?.utf8.count ?? 0) {
            throw Refusal(nil, Problem(.badRequest, "id must be a string of 1 to 64 bytes", errors: [Problem.Item(pointer: "/id", detail: "1 to 64 bytes")]))
        }
        let type = text("type")
        if type == "auth" {
            if let unknown = fields.keys.first(where: { !["type", "token"].contains($0) }) {
                throw Refusal(nil, Problem(.badRequest, "unknown member '\(unknown)' in an auth", errors: [Problem.Item(pointer: "/" + unknown, detail: "unknown member")]))
            }
            guard let token = text("token"), !token.isEmpty else {
                throw Refusal(nil, Problem(.badRequest, "auth needs a token (an API key or a JWT)", errors: [Problem.Item(pointer: "/token", detail: "required")]))
            }
            return .auth(token: token)
        }
        let known: Set<String> = type == "subscribe" ? ["type", "id", "url", "since"] : ["type", "id"]
        if let unknown = fields.keys.first(where: { !known.contains($0) }) {
            throw Refusal(id, Problem(.badRequest, "unknown member '\(unknown)' in a \(type ?? "message")", errors: [Problem.Item(pointer: "/" + unknown, detail: "unknown member")]))
        }
        guard let id else {
            throw Refusal(nil, Problem(.badRequest, "a message needs an id (a string of your choice)", errors: [Problem.Item(pointer: "/id", detail: "required")]))
        }
        switch type {
        case "subscribe":
            guard let url = text("url") else {
                throw Refusal(id, Problem(.badRequest, "subscribe needs a url, such as /tasks?done=is.false", errors: [Problem.Item(pointer: "/url", detail: "required")]))
            }
            var since: Int64?
            if let raw = fields["since"] {
                guard let value = Int64(String(decoding: message[raw], as: UTF8.self)), value >= 0 else {
                    throw Refusal(id, Problem(.badRequest, "since must be a change seq (a whole number)", errors: [Problem.Item(pointer: "/since", detail: "a whole number")]))
                }
                since = value
            }
            return .subscribe(id: id, url: url, since: since)
        case "unsubscribe":
            return .unsubscribe(id: id)
        default:
            throw Refusal(id, Problem(.badRequest, "type must be subscribe, unsubscribe or auth", errors: [Problem.Item(pointer: "/type", detail: "subscribe, unsubscribe or auth")]))
        }
    }
}
