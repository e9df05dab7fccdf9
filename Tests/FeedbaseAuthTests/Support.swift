// What the auth tests share: a temporary directory for key files and databases, a clock the
// tests move, tokens built by hand (so a test controls every byte of header and payload) and
// signed with swift-crypto (HS256) or with jwt-kit's own algorithms (RS256, ES256).

import Crypto
import Foundation
import JWTKit
import Logging
import Synchronization

@testable import FeedbaseAuth
import FeedbaseModel
@testable import FeedbaseSQLite

final class TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("feedbase-auth-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes `text` to `name` and returns its path.
    func write(_ text: String, to name: String) throws -> String {
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
        return file(name)
    }
}

final class TestClock: Sendable {
    private let seconds: Atomic<Int64>
    init(_ start: Int64 = 1_800_000_000) { seconds = Atomic(start) }
    var now: Int64 { seconds.load(ordering: .relaxed) }
    func advance(by delta: Int64) { seconds.add(delta, ordering: .relaxed) }
}

let quietLogger: Logger = {
    var logger = Logger(label: "feedbase-auth-test")
    logger.logLevel = .critical
    return logger
}()

/// A secret of the length RFC 7518 asks for.
let secret = "test-secret-of-at-least-32-bytes!!"

func makeAuthenticator(
    _ configuration: AuthConfiguration, clock: TestClock, keys: @escaping @Sendable () async throws -> [StoredAPIKey] = { [] },
    cacheCapacity: Int = Authenticator.defaultCacheCapacity
) -> Authenticator {
    Authenticator(configuration: configuration, loadKeys: keys, logger: quietLogger, cacheCapacity: cacheCapacity, now: { clock.now })
}

enum Token {
    static func encode(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }

    /// `header.payload.signature` with an HMAC-SHA256 signature made by swift-crypto.
    static func hs256(_ payload: String, header: String = #"{"alg":"HS256","typ":"JWT"}"#, secret: String = secret) -> String {
        let input = encode(header) + "." + encode(payload)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return input + "." + Base64URL.encode(Array(mac))
    }

    /// `header.payload.signature` signed by a jwt-kit algorithm (RS256, ES256).
    static func signed(_ payload: String, header: String, by keys: JWTKeyCollection) async throws -> String {
        let input = encode(header) + "." + encode(payload)
        let signature = try await keys.getKey().sign(Array(input.utf8))
        return input + "." + Base64URL.encode(signature)
    }

    /// The token with one character of its `part` (0 header, 1 payload, 2 signature) changed.
    static func tampered(_ token: String, part: Int) -> String {
        var parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var bytes = Array(parts[part].utf8)
        let middle = bytes.count / 2
        bytes[middle] = bytes[middle] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        parts[part] = String(decoding: bytes, as: UTF8.self)
        return parts.joined(separator: ".")
    }
}

extension Result where Success == Identity, Failure == AuthFailure {
    /// The failure's description, or nil on success.
    var refusal: String? {
        if case .failure(let failure) = self { return failure.description }
        return nil
    }

    var identity: Identity? { try? get() }
}

/// A self-signed X.509 certificate of a P-256 key and that key, made for these tests only with
/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes`.
enum TestCertificate {
    static let privateKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg9zKgg+OpquIUDdr+
        1NDaT9rENobV8SJQLRDUdlmFllmhRANCAARFfj6zsd//M//gWpzv4oe92O0ZCio9
        DxVlaq+ltjm7nNbc5mcz6RMz3X3veihMislon9UhuvM76xgA5YDrS82y
        -----END PRIVATE KEY-----
        """
    static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIBhjCCAS2gAwIBAgIUCmU8Zjq3zoRKu7bNAwxOW7QMAtkwCgYIKoZIzj0EAwIw
        GDEWMBQGA1UEAwwNZmVlZGJhc2UtdGVzdDAgFw0yNjEyMDIxNzMwMzFaGA8yMTI2
        MTEwODE3MzAzMVowGDEWMBQGA1UEAwwNZmVlZGJhc2UtdGVzdDBZMBMGByqGSM49
        AgEGCCqGSM49AwEHA0IABEV+PrOx3/8z/+BanO/ih73Y7RkKKj0PFWVqr6W2Obuc
        1tzmZzPpEzPdfe96KEyKyWif1SG68zvrGADlgOtLzbKjUzBRMB0GA1UdDgQWBBQg
        exu4P5lEffE6fMNB3OBJ/W1A1DAfBgNVHSMEGDAWgBQgexu4P5lEffE6fMNB3OBJ
        /W1A1DAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIBU6t7H1wzgR
        KkxJ1hT/byN87zk3zETC/8EI1S29UgddAiBTpb63wFcHUNxdDaCfovJ8JnuvMaYl
        gkBXDVMG/csBEw==
        -----END CERTIFICATE-----
        """
}
