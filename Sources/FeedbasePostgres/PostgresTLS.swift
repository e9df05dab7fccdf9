// TLS to PostgreSQL as libpq's `sslmode` means it (docs/POSTGRES.md, "TLS"), on swift-nio-ssl
// (which postgres-nio brings and exports):
//
// | sslmode | encrypted | the server's certificate |
// | --- | --- | --- |
// | disable | never | - |
// | prefer (the default, as libpq's) | when the server offers TLS | not checked |
// | require | always | not checked; checked as verify-ca when `sslrootcert` is given (libpq's rule) |
// | verify-ca | always | signed by a CA of `sslrootcert` |
// | verify-full | always | and made out to the URL's host (its name, or its IP address) |
//
// `sslrootcert` is a PEM file of CA certificates, read when the URL is; without it (or with
// `sslrootcert=system`) the system's trust store is used: a server has no ~/.postgresql/root.crt
// to fall back on as libpq does.

import FeedbaseModel
import PostgresNIO

struct PostgresTLS: Sendable {
    enum Mode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    var mode: Mode
    var configuration: TLSConfiguration

    /// `mode` and `rootCertificate` as the URL gives them (nil when absent).
    init(mode text: String?, rootCertificate path: String?) throws {
        guard let mode = Mode(rawValue: text ?? Mode.prefer.rawValue) else {
            throw PostgresURL.invalid(
                "sslmode=\(text ?? "") is not one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.mode = mode
        configuration = TLSConfiguration.makeClientConfiguration()
        var roots = NIOSSLTrustRoots.default
        if let path, path != "system" {
            do {
                roots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
            } catch {
                throw PostgresURL.invalid("sslrootcert=\(path) cannot be read as PEM certificates (\(error))")
            }
        }
        configuration.trustRoots = roots
        switch mode {
        case .disable, .prefer: configuration.certificateVerification = .none
        case .require: configuration.certificateVerification = path == nil ? .none : .noHostnameVerification
        case .verifyCA: configuration.certificateVerification = .noHostnameVerification
        case .verifyFull: configuration.certificateVerification = .fullVerification
        }
    }

    var client: PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(configuration)
        case .require, .verifyCA, .verifyFull: .require(configuration)
        }
    }

    func connection() throws -> PostgresConnection.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(try NIOSSLContext(configuration: configuration))
        case .require, .verifyCA, .verifyFull: return .require(try NIOSSLContext(configuration: configuration))
        }
    }
}

extension PostgresTLS {
    /// Why a connection could not be made, in one line that names the TLS cause when there is
    /// one (postgres-nio's own description of its errors says nothing, on purpose).
    static func describe(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return String(describing: error) }
        if psql.serverInfo != nil { return PostgresMigrator.describe(psql) }
        switch psql.code {
        case .sslUnsupported:
            return "the server does not offer TLS, and the URL's sslmode requires it (sslmode=prefer or disable connects without)"
        case .failedToAddSSLHandler:
            return "TLS could not be set up: \(psql.underlying.map { String(describing: $0) } ?? "no reason given")"
        default:
            let underlying = psql.underlying.map { String(describing: $0) } ?? "\(psql.code)"
            if underlying.contains("CERTIFICATE_VERIFY_FAILED") || underlying.contains("handshakeFailed") {
                return "the server's TLS certificate is not trusted (not signed by a CA of sslrootcert, or expired): \(underlying)"
            }
            if underlying.contains("failedToValidateHostname") {
                return "the server's TLS certificate is not made out to the URL's host (sslmode=verify-full): \(underlying)"
            }
            return underlying
        }
    }
}
