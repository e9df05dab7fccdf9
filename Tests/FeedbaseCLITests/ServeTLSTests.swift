// HTTPS without a proxy: `feedbase serve --tls-cert --tls-key` with a throwaway CA's certificate
// for localhost (made with the openssl command), checked with curl as a user would: trusted with
// the CA, refused without it, nothing for plain HTTP on that port, and the documents name the
// https:// server. Mistakes in the files are one error line naming the flag and the file.

import FeedbaseTestSupport
import Foundation
import Testing

let curlPath = ["/usr/bin/curl", "/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite(
    .enabled(if: opensslPath != nil, "the openssl command makes the test's certificates"),
    .enabled(if: curlPath != nil, "curl is the client"))
struct ServeTLSTests {
    static func curl(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let result = try await ChildProcess.run(curlPath ?? "curl", ["-sS", "--max-time", "20"] + arguments, environment: ["PATH": "/usr/bin:/bin"])
        return (result.status, result.stdout, result.stderr)
    }

    @Test func servesHTTPSThatCurlTrustsWithTheCAOnly() async throws {
        let certificates = try await TestCertificates.make()
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let server = try ServeProcess(
            ["--port", "0", "--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey], in: workspace.path)
        let log = try await server.waitForLog { $0.contains("listening on https://127.0.0.1:") }
        let line = try #require(log.split(separator: "\n").first { $0.contains("listening on https://") })
        let port = try #require(Int(line.split(separator: ":").last ?? ""))
        let base = "https://localhost:\(port)"

        let health = try await Self.curl(["--cacert", certificates.authority, base + "/_health"])
        #expect(health.status == 0 && health.stdout == #"{"status":"ok"}"#, "\(health.stderr)")
        let created = try await Self.curl([
            "--cacert", certificates.authority, "-H", "Content-Type: application/json", "-d", #"{"name":"over HTTPS"}"#,
            "-w", "%{http_code}", "-o", "/dev/null", base + "/projects",
        ])
        #expect(created.stdout == "201", "\(created.stderr)")
        let document = try await Self.curl(["--cacert", certificates.authority, base + "/openapi.json"])
        #expect(document.stdout.contains("\"https://localhost:\(port)\""), "\(document.stdout.prefix(300))")
        // Another CA's trust, or none: curl refuses the certificate (exit 60).
        #expect(try await Self.curl(["--cacert", certificates.otherAuthority, base + "/_health"]).status == 60)
        #expect(try await Self.curl([base + "/_health"]).status == 60)
        // Plain HTTP to the HTTPS port gets no HTTP answer.
        let plain = try await Self.curl(["http://127.0.0.1:\(port)/_health"])
        #expect(plain.status != 0 && !plain.stdout.contains("status"), "\(plain.stdout)")
        #expect(try await server.stop() == 0)
    }

    @Test func mistakesInTheFilesAreOneLineNamingTheFlag() async throws {
        let certificates = try await TestCertificates.make()
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let workspace = try Workspace()
        try workspace.copyMigrations()
        let cases: [([String], String)] = [
            (["--tls-cert", certificates.serverCertificate], "--tls-cert needs --tls-key"),
            (["--tls-key", certificates.serverKey], "--tls-key needs --tls-cert"),
            (["--tls-cert", "/nonexistent/server.pem", "--tls-key", certificates.serverKey], "--tls-cert /nonexistent/server.pem: cannot be read"),
            (["--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverCertificate], "--tls-key \(certificates.serverCertificate): cannot be read"),
            (["--tls-cert", certificates.serverCertificate, "--tls-key", certificates.directory + "/other-ca.key"], "is not the key of --tls-cert"),
        ]
        for (flags, message) in cases {
            expectOneErrorLine(try await run(["serve", "--port", "0"] + flags, in: workspace.path), containing: message)
        }
    }
}
