// Access control in both documents: the two ways a request carries credentials (the
// `Authorization: Bearer` header, and the feed's `access_token` query parameter), which
// operations accept which, and the 401, 403 and 429 answers of every operation the access rules
// guard. The index, `/_health` and the documents stay public, so they list none of this.

enum AccessControl {
    /// Anonymous or a Bearer token. The empty alternative comes first because a request without
    /// credentials is not refused for that: it acts as `anon`, and the rules decide.
    static let optionalBearer: DocumentValue = [[:], ["bearerAuth": []]]

    /// The feed's routes also take the token in the query (FeedRoutes; API.takeCredentials).
    static let feed: DocumentValue = [[:], ["bearerAuth": []], ["accessToken": []]]

    /// The public routes: a client need not send its token there.
    static let none: DocumentValue = []

    private static var bearer: DocumentValue {
        [
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "API key (fbk_...) or JWT",
            "description": .string(Texts.bearerAuth),
        ]
    }

    /// `components/securitySchemes` of the OpenAPI document; `access_token` exists only with
    /// the feed.
    static func openAPISchemes(feed: Bool) -> DocumentValue {
        var schemes: [(String, DocumentValue)] = [("bearerAuth", bearer)]
        if feed {
            schemes.append(("accessToken", [
                "type": "apiKey", "in": "query", "name": "access_token", "description": .string(Texts.accessToken),
            ]))
        }
        return .object(ordered: schemes)
    }

    /// `components/securitySchemes` of the AsyncAPI document, whose query key scheme is spelled
    /// `httpApiKey` (its `apiKey` is a user or password field of other protocols).
    static var asyncAPISchemes: DocumentValue {
        [
            "bearerAuth": bearer,
            "accessToken": [
                "type": "httpApiKey", "in": "query", "name": "access_token", "description": .string(Texts.accessToken),
            ],
        ]
    }

    /// `responses` with the answers of access control (401, 403, 429) added, ordered by status.
    static func guarded(_ responses: [(String, DocumentValue)]) -> DocumentValue {
        let access: [(String, DocumentValue)] = [
            ("401", ServiceOperations.response("Unauthorized")), ("403", ServiceOperations.response("Forbidden")),
            ("429", ServiceOperations.response("TooManyRequests")),
        ]
        return .object(ordered: (responses + access).sorted { $0.0 < $1.0 })
    }
}
