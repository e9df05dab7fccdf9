// HTTPS for deployments without a proxy in front: swift-nio-ssl's server handler first in every
// connection's pipeline, from a PEM certificate chain and private key read once at start. HTTP/1.1
// only (ALPN `http/1.1`): the server speaks nothing else.

import NIOCore
import NIOSSL

public struct TLSFiles: Sendable {
    /// PEM: the server's certificate first, then any intermediates.
    public var certificateChain: String
    /// PEM: the certificate's private key (unencrypted).
    public var privateKey: String

    public init(certificateChain: String, privateKey: String) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }

    /// The handler setup for `ServerConfiguration.transport`; every mistake in the files is an
    /// `AppError` naming the file and what is wrong with it, found before the port is bound.
    func transport() throws -> @Sendable (any Channel) throws -> Void {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChain)
        } catch {
            throw AppError("--tls-cert \(certificateChain): cannot be read as PEM certificates (\(error))")
        }
        guard !chain.isEmpty else { throw AppError("--tls-cert \(certificateChain): holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
        } catch {
            throw AppError("--tls-key \(privateKey): cannot be read as an unencrypted PEM private key (\(error))")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.applicationProtocols = ["http/1.1"]
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw AppError("--tls-key \(privateKey) is not the key of --tls-cert \(certificateChain)'s certificate (\(error))")
        }
        return { channel in try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context)) }
    }
}
