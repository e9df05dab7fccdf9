// Access control in the OpenAPI document: the two security schemes, anonymous access kept
// possible, the 401/403/429 answers on every guarded operation, and the public routes left
// without them.

import Testing

@testable import FeedbaseOpenAPI

@Suite struct SecurityTests: DocumentTesting {
    static let publicPaths: Set<String> = ["/", "/_health", "/_ready", "/openapi.json", "/openapi.yaml", "/asyncapi.json"]
    static let feedPaths: Set<String> = ["/_changes", "/_feed", "/_changes/tasks", "/_changes/projects", "/_changes/comments"]

    @Test func theSchemesSayHowToAuthenticateAndAnonymousStaysPossible() async throws {
        let schema = try await Self.schema()
        let document = OpenAPIDocument.openAPI(for: schema, feed: true, serverURL: nil)
        // `{}` first: without credentials a request is `anon`, and the rules decide.
        #expect(document["security"] == [[:], ["bearerAuth": []]])
        let schemes = try #require(document["components"]?["securitySchemes"])
        #expect(schemes.keys == ["bearerAuth", "accessToken"])
        let bearer = try #require(schemes["bearerAuth"])
        #expect(bearer["type"] == "http")
        #expect(bearer["scheme"] == "bearer")
        #expect(bearer["bearerFormat"]?.stringValue?.contains("API key") == true)
        #expect(bearer["bearerFormat"]?.stringValue?.contains("JWT") == true)
        let howTo = bearer["description"]?.stringValue ?? ""
        for words in ["`fbk_`", "feedbase keys create --role ROLE", "HS256, RS256 or ES256", "`anon`"] {
            #expect(howTo.contains(words), "\(words)")
        }
        #expect(schemes["accessToken"]?["type"] == "apiKey")
        #expect(schemes["accessToken"]?["in"] == "query")
        #expect(schemes["accessToken"]?["name"] == "access_token")
        let description = document["info"]?["description"]?.stringValue ?? ""
        #expect(description.contains("Authorization: Bearer <token>"))
        #expect(description.contains("WWW-Authenticate: Bearer realm=\"feedbase\""))

        // Without the feed nothing takes `access_token`.
        let noFeed = OpenAPIDocument.openAPI(for: schema, feed: false, serverURL: nil)
        #expect(noFeed["components"]?["securitySchemes"]?.keys == ["bearerAuth"])
        #expect(noFeed["security"] == [[:], ["bearerAuth": []]])
    }

    @Test func guardedOperationsAnswer401And403And429AndPublicOnesDoNot() async throws {
        for feed in [true, false] {
            let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: feed, serverURL: nil)
            let defined = Set(document["components"]?["securitySchemes"]?.keys ?? [])
            var guarded = 0
            for path in document["paths"]?.keys ?? [] {
                for method in document["paths"]?[path]?.keys ?? [] where method != "parameters" {
                    let operation = try #require(Self.operation(document, path, method))
                    let responses = operation["responses"]
                    if Self.publicPaths.contains(path) {
                        #expect(operation["security"] == [], "\(method) \(path)")
                        for status in ["401", "403", "429"] { #expect(responses?[status] == nil, "\(method) \(path) \(status)") }
                        continue
                    }
                    guarded += 1
                    #expect(responses?["401"] == ["$ref": "#/components/responses/Unauthorized"], "\(method) \(path)")
                    #expect(responses?["403"] == ["$ref": "#/components/responses/Forbidden"], "\(method) \(path)")
                    #expect(responses?["429"] == ["$ref": "#/components/responses/TooManyRequests"], "\(method) \(path)")
                    // Statuses stay in order with the three among them.
                    let statuses = responses?.keys ?? []
                    #expect(statuses == statuses.sorted(), "\(method) \(path)")
                    if Self.feedPaths.contains(path) {
                        #expect(operation["security"] == [[:], ["bearerAuth": []], ["accessToken": []]], "\(method) \(path)")
                    } else {
                        // The collections' operations take the document's: anonymous or Bearer.
                        #expect(operation["security"] == nil, "\(method) \(path)")
                    }
                    for requirement in operation["security"]?.arrayValue ?? [] {
                        for name in requirement.keys { #expect(defined.contains(name), "\(method) \(path): \(name)") }
                    }
                }
            }
            #expect(guarded == 3 * 6 + 1 + (feed ? 2 + 3 : 0))  // 1: POST /_batch
        }
    }

    @Test func theAccessAnswersCarryTheirHeaders() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(), feed: true, serverURL: nil)
        let responses = try #require(document["components"]?["responses"])
        #expect(responses["Unauthorized"]?["headers"] == [
            "X-Request-Id": ["$ref": "#/components/headers/XRequestId"], "WWW-Authenticate": ["$ref": "#/components/headers/WWWAuthenticate"],
        ])
        #expect(responses["TooManyRequests"]?["headers"] == [
            "X-Request-Id": ["$ref": "#/components/headers/XRequestId"], "Retry-After": ["$ref": "#/components/headers/RetryAfter"],
        ])
        #expect(responses["Forbidden"]?["headers"]?.keys == ["X-Request-Id"])
        for name in ["Unauthorized", "Forbidden", "TooManyRequests"] {
            #expect(responses[name]?["content"] == ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]], "\(name)")
        }
        let challenge = try #require(document["components"]?["headers"]?["WWWAuthenticate"])
        #expect(challenge["required"] == true)
        #expect(challenge["description"]?.stringValue?.contains("error=\"invalid_token\"") == true)
        // A hidden row answers exactly like an absent one.
        #expect(responses["NotFound"]?["description"]?.stringValue?.contains("access rules hide") == true)
    }

    @Test func aColumnNamedAccessTokenIsNoFilterOnAFeedRoute() async throws {
        let document = OpenAPIDocument.openAPI(for: try await Self.schema(sql: """
            CREATE TABLE sessions (id INTEGER PRIMARY KEY, access_token TEXT);
            """), feed: true, serverURL: nil)
        func names(_ path: String) -> [String] {
            Self.operation(document, path, "get")?["parameters"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        }
        // The server takes the parameter as credentials on /_changes/{collection}; the JSON
        // listing still filters by it.
        #expect(!names("/_changes/sessions").contains("access_token"))
        #expect(names("/sessions").contains("access_token"))
    }
}
