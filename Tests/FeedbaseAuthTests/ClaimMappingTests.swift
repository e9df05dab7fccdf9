// From verified claims to an Identity: role and subject from configurable (dotted) claim
// paths, the default role when the role claim is absent, a role that is not a string refused,
// and every scalar claim kept as text with numbers as written and nested objects flattened.

import Testing

@testable import FeedbaseAuth

@Suite struct ClaimMappingTests {
    let clock = TestClock()

    func identity(_ payload: String, role: String = "role", subject: String = "sub", defaultRole: String = "authenticated") async throws -> Result<Identity, AuthFailure> {
        let options = AuthOptions(secret: secret, roleClaim: role, subjectClaim: subject, defaultRole: defaultRole, leewaySeconds: 0)
        return await makeAuthenticator(try AuthConfiguration(options), clock: clock).authenticate(token: Token.hs256(payload))
    }

    @Test func nestedClaimPathsGiveRoleAndSubject() async throws {
        let payload = #"{"app_metadata":{"role":"manager","org":{"id":"o-7"}},"user_id":"u-9","sub":"ignored"}"#
        let found = try #require(try await identity(payload, role: "app_metadata.role", subject: "user_id").identity)
        #expect(found.role == "manager")
        #expect(found.subject == "u-9")
        #expect(found.claims["app_metadata.org.id"] == "o-7")
    }

    @Test func anAbsentRoleClaimGivesTheDefaultRole() async throws {
        #expect(try await identity(#"{"sub":"u"}"#).identity?.role == "authenticated")
        #expect(try await identity(#"{"sub":"u","role":null}"#, defaultRole: "member").identity?.role == "member")
        #expect(try await identity(#"{"sub":"u","app":{}}"#, role: "app.role", defaultRole: "member").identity?.role == "member")
        #expect(try await identity(#"{"role":"r"}"#).identity?.subject == nil)
    }

    @Test func aRoleOrSubjectThatIsNotAStringIsRefused() async throws {
        for payload in [#"{"role":7}"#, #"{"role":["admin"]}"#, #"{"role":{"name":"admin"}}"#, #"{"role":true}"#, #"{"role":""}"#] {
            #expect(try await identity(payload).refusal == "the role claim 'role' is not a non-empty string", "\(payload)")
        }
        #expect(try await identity(#"{"sub":42}"#).refusal == "the subject claim 'sub' is not a string")
    }

    @Test func claimsAreFlattenedAsText() async throws {
        let payload = #"""
            {"sub":"u","n":1.50,"big":12345678901234567890,"e":1E+3,"neg":-0.0,"yes":true,"no":false,"gone":null,
             "list":[1,2],"nested":{"a":{"b":"deep","c":[3]},"d":2},"text":"caf\u00e9 \"q\""}
            """#
        let claims = try #require(try await identity(payload).identity?.claims)
        #expect(claims == [
            "sub": "u", "n": "1.50", "big": "12345678901234567890", "e": "1E+3", "neg": "-0.0", "yes": "true", "no": "false",
            "nested.a.b": "deep", "nested.d": "2", "text": "café \"q\"",
        ])
    }

    @Test func claimPathsMustNameAClaim() {
        for path in ["", ".role", "role.", "a..b"] {
            #expect(throws: AuthConfigurationError.self) { try AuthConfiguration(AuthOptions(secret: secret, roleClaim: path)) }
        }
        #expect(ClaimPath("app_metadata.role")?.components == ["app_metadata", "role"])
    }
}
