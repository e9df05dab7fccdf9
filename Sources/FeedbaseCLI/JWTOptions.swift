// The `--jwt-*` flags of `serve`: which JWTs the server accepts and how a token's claims become
// a role and a subject. API keys (`feedbase keys`) need none of them.

import ArgumentParser
import FeedbaseAuth

struct JWTOptions: ParsableArguments {
    @Option(name: .customLong("jwt-secret"), help: "An HS256 secret of at least 32 bytes (env FEEDBASE_JWT_SECRET; prefer --jwt-secret-file, which stays out of the process list).")
    var secret: String = environment("JWT_SECRET") ?? ""

    @Option(name: .customLong("jwt-secret-file"), help: "A file holding the HS256 secret (env FEEDBASE_JWT_SECRET_FILE).")
    var secretFile: String = environment("JWT_SECRET_FILE") ?? ""

    @Option(name: .customLong("jwt-public-key"), help: "A PEM public key or certificate: RSA verifies RS256, P-256 ES256; repeatable (env FEEDBASE_JWT_PUBLIC_KEY, comma-separated).")
    var publicKeys: [String] = environment("JWT_PUBLIC_KEY").map { $0.split(separator: ",").map(String.init) } ?? []

    @Option(name: .customLong("jwt-jwks"), help: "A JSON Web Key Set file (env FEEDBASE_JWT_JWKS).")
    var jwks: String = environment("JWT_JWKS") ?? ""

    @Option(name: .customLong("jwt-issuer"), help: "The iss every token must carry (env FEEDBASE_JWT_ISSUER).")
    var issuer: String = environment("JWT_ISSUER") ?? ""

    @Option(name: .customLong("jwt-audience"), help: "An aud the token must name; repeatable (env FEEDBASE_JWT_AUDIENCE, comma-separated).")
    var audiences: [String] = environment("JWT_AUDIENCE").map { $0.split(separator: ",").map(String.init) } ?? []

    @Option(name: .customLong("jwt-role-claim"), help: "The claim holding the role, a dotted path such as app_metadata.role (env FEEDBASE_JWT_ROLE_CLAIM).")
    var roleClaim: String = environment("JWT_ROLE_CLAIM") ?? AuthConfiguration().roleClaim.description

    @Option(name: .customLong("jwt-subject-claim"), help: "The claim holding the subject ($sub in rules) (env FEEDBASE_JWT_SUBJECT_CLAIM).")
    var subjectClaim: String = environment("JWT_SUBJECT_CLAIM") ?? AuthConfiguration().subjectClaim.description

    @Option(name: .customLong("jwt-default-role"), help: "The role of a token without the role claim (env FEEDBASE_JWT_DEFAULT_ROLE).")
    var defaultRole: String = environment("JWT_DEFAULT_ROLE") ?? AuthConfiguration().defaultRole

    @Option(name: .customLong("jwt-leeway"), help: "Seconds of clock skew allowed on exp and nbf (env FEEDBASE_JWT_LEEWAY).")
    var leeway: String = environment("JWT_LEEWAY") ?? String(AuthConfiguration().leewaySeconds)

    func configuration() throws -> AuthConfiguration {
        guard let leewaySeconds = Int64(leeway), (0...3600).contains(leewaySeconds) else {
            throw CLIError("\(source("jwt-leeway")) must be 0 to 3600 seconds, not '\(leeway)'")
        }
        let options = AuthOptions(
            secret: secret.isEmpty ? nil : secret, secretFile: secretFile.isEmpty ? nil : secretFile, publicKeyFiles: publicKeys,
            jwksFile: jwks.isEmpty ? nil : jwks, issuer: issuer.isEmpty ? nil : issuer, audiences: audiences, roleClaim: roleClaim,
            subjectClaim: subjectClaim, defaultRole: defaultRole, leewaySeconds: leewaySeconds)
        do {
            return try AuthConfiguration(options)
        } catch {
            throw CLIError(error.description)
        }
    }
}
