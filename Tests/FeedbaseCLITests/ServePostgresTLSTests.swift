// TLS to PostgreSQL for real: a throwaway CA and a server certificate for localhost (made with
// the openssl command), a cluster of the test's own started with ssl=on. `feedbase serve` with
// sslmode=verify-full and that CA serves, and every connection it holds (the pool's and its
// LISTEN connection) is encrypted, as pg_stat_ssl shows; a certificate from another CA is refused
// in one clear line, and so is sslmode=require against a server without TLS. Skipped, with the
// reason, where PostgreSQL's binaries or openssl are missing.

import FeedbaseTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

let opensslPath = ["/usr/bin/openssl", "/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }

@Suite(
    .enabled(if: PostgresCluster.isAvailable, Comment(rawValue: PostgresCluster.unavailableReason ?? "PostgreSQL is available")),
    .enabled(if: opensslPath != nil, "the openssl command makes the test's certificates"))
struct ServePostgresTLSTests {
    @Test func verifyFullServesOverTLSAndAnUntrustedCertificateOrAServerWithoutTLSIsRefusedClearly() async throws {
        let certificates = try await TestCertificates.make()
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let cluster = try await PostgresCluster.startDedicated(settings: [
            "ssl=on", "ssl_cert_file=\(certificates.serverCertificate)", "ssl_key_file=\(certificates.serverKey)",
        ])
        let database = try await cluster.createDatabase()
        let workspace = try Workspace()
        try workspace.copyMigrations()

        // The certificate is made out to localhost (a name: swift-nio-ssl accepts an IP address
        // entry for the connected address whatever the URL's host, so an IP entry proves less).
        let url = "postgres://postgres@localhost:\(cluster.port)/\(database.name)?sslmode=verify-full&sslrootcert=\(certificates.authority)"
        let node = try ServeProcess(["--port", "0", "--db", url], in: workspace.path)
        let port = try await ServePostgresTests.port(of: node)
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/projects")))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"name":"over TLS"}"#.utf8)
        let (body, created) = try await URLSession.shared.data(for: request)
        #expect((created as? HTTPURLResponse)?.statusCode == 201, "\(String(decoding: body, as: UTF8.self))")
        // Every backend of the node's (pool, LISTEN, and the migrations' before them) is TLS.
        let connections = try await cluster.psql(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) "
                + "WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()", on: database)
        let counts = connections.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|")
        #expect(counts.count == 2 && counts[0] == counts[1] && (Int(counts[0]) ?? 0) >= 2, "connections, encrypted: \(connections)")
        let listening = try await cluster.psql(
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = current_database() "
                + "AND s.ssl AND a.query ILIKE 'LISTEN%'", on: database)
        #expect(listening.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "the LISTEN connection over TLS: \(listening)")
        #expect(try await node.stop() == 0)

        // The schema command (the catalog on a connection of its own) over the same TLS.
        let schema = try await run(["schema", "--db", url], in: workspace.path)
        #expect(schema.status == 0 && schema.stdout.contains("projects"), "\(schema.stderr)")

        // A certificate signed by another CA: refused, one line that says why.
        let untrusted = try await run(
            ["migrate", "--db", database.url + "?sslmode=verify-ca&sslrootcert=\(certificates.otherAuthority)"], in: workspace.path)
        #expect(untrusted.status == 1)
        #expect(untrusted.stderr.hasPrefix("feedbase: error: cannot connect to PostgreSQL: the server's TLS certificate is not trusted"), "\(untrusted.stderr)")
        #expect(untrusted.stderr.split(separator: "\n").count == 1, "\(untrusted.stderr)")
        // verify-full with a host the certificate is not made out to (127.0.0.1 is not in it);
        // verify-ca, which checks no name, connects there.
        let wrongHost = try await run(
            ["migrate", "--db", database.url + "?sslmode=verify-full&sslrootcert=\(certificates.authority)"], in: workspace.path)
        #expect(wrongHost.status == 1 && wrongHost.stderr.contains("not made out to the URL's host"), "\(wrongHost.stderr)")
        let anyHost = try await run(["migrate", "--db", database.url + "?sslmode=verify-ca&sslrootcert=\(certificates.authority)"], in: workspace.path)
        #expect(anyHost.status == 0, "\(anyHost.stderr)")
        // A CA file that is not there: said before any connection.
        let missing = try await run(["migrate", "--db", database.url + "?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem"], in: workspace.path)
        #expect(missing.status == 1 && missing.stderr.contains("sslrootcert=/nonexistent/ca.pem cannot be read"), "\(missing.stderr)")
        // An sslmode libpq does not have.
        let unknown = try await run(["migrate", "--db", database.url + "?sslmode=always"], in: workspace.path)
        #expect(unknown.status == 1 && unknown.stderr.contains("sslmode=always is not one of disable, prefer, require, verify-ca, verify-full"), "\(unknown.stderr)")
        try await cluster.shutDown()

        // sslmode=require against the shared cluster, which has no TLS: refused, clearly.
        let plain = try await PostgresCluster.shared().createDatabase()
        let refused = try await run(["migrate", "--db", plain.url + "?sslmode=require"], in: workspace.path)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the server does not offer TLS, and the URL's sslmode requires it"), "\(refused.stderr)")
        // prefer (libpq's default) connects without TLS there.
        let preferred = try await run(["migrate", "--db", plain.url + "?sslmode=prefer"], in: workspace.path)
        #expect(preferred.status == 0, "\(preferred.stderr)")
    }
}

/// A CA, a server certificate it signs for localhost (key readable by the server's user), and a
/// second CA that signed nothing here.
struct TestCertificates {
    var directory: String
    var authority: String
    var otherAuthority: String
    var serverCertificate: String
    var serverKey: String

    static func make() async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // The server (as `postgres` when we are root) reads the certificate and key from here.
        chmod(directory, 0o755)
        func openssl(_ arguments: [String]) async throws {
            let result = try await ChildProcess.run(
                opensslPath ?? "openssl", arguments, directory: directory, environment: ["PATH": "/usr/bin:/bin", "HOME": directory])
            guard result.status == 0 else { throw CLITestError("openssl \(arguments.first ?? ""): \(result.stderr)") }
        }
        for name in ["ca", "other-ca"] {
            try await openssl([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=feedbase test \(name)",
                "-keyout", "\(name).key", "-out", "\(name).pem",
            ])
        }
        try "subjectAltName=DNS:localhost\n".write(toFile: directory + "/san.ext", atomically: true, encoding: .utf8)
        try await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"])
        try await openssl([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "san.ext", "-out", "server.pem",
        ])
        let key = directory + "/server.key"
        // PostgreSQL refuses a key others can read: 0600 for its owner, or 0640 owned by root
        // with the server's group.
        if getuid() == 0, let user = getpwnam("postgres") {
            chown(key, 0, user.pointee.pw_gid)
            chmod(key, 0o640)
        } else {
            chmod(key, 0o600)
        }
        for file in ["ca.pem", "other-ca.pem", "server.pem"] { chmod(directory + "/" + file, 0o644) }
        return TestCertificates(
            directory: directory, authority: directory + "/ca.pem", otherAuthority: directory + "/other-ca.pem",
            serverCertificate: directory + "/server.pem", serverKey: key)
    }
}
