import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing

@testable import Engine

/// `https` web seed connections against a TLS server in the process (NIOSSL's server handler, a
/// certificate for `localhost` made by the `openssl` CLI for each test): a connection is handed over
/// only once its handshake has ended, so a refused certificate fails the connect with its reason,
/// never a later write with "I/O on closed channel".
@Suite(.timeLimit(.minutes(2))) struct WebSeedTLSTests {
    /// A self-signed certificate for `localhost` and 127.0.0.1 and its key, in a fresh folder.
    struct Certificate {
        var folder: URL
        var certificatePath: String
        var keyPath: String

        /// Deletes the folder with the certificate and its key.
        func remove() { try? FileManager.default.removeItem(at: folder) }
    }

    static func makeCertificate() throws -> Certificate {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("btq-wstls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let certificate = folder.appendingPathComponent("server.pem").path
        let key = folder.appendingPathComponent("server.key").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:TRUE", "-keyout", key, "-out", certificate,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl made the test certificate")
        return Certificate(folder: folder, certificatePath: certificate, keyPath: key)
    }

    /// A server on 127.0.0.1 that runs TLS with `certificate` (or, with `nil`, accepts and never
    /// answers), and reads whatever comes after.
    static func startServer(_ certificate: Certificate?) async throws -> any Channel {
        let context = try certificate.map {
            try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMFile($0.certificatePath).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(file: $0.keyPath, format: .pem))))
        }
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    static func endpoint(_ server: any Channel) -> WebSeedChannel.Endpoint {
        .init(host: "localhost", port: server.localAddress?.port ?? 0, secure: true)
    }

    @Test func anUntrustedCertificateFailsTheConnectWithItsReason() async throws {
        let certificate = try Self.makeCertificate()
        defer { certificate.remove() }
        let server = try await Self.startServer(certificate)
        defer { server.close(promise: nil) }
        // Many tries: before the watch, whether the failure showed at the connect or at the first
        // write depended on which came first.
        for _ in 0..<20 {
            do {
                let connection = try await WebSeedChannel.connect(
                    to: Self.endpoint(server), group: MultiThreadedEventLoopGroup.singleton,
                    configuration: WebSeedConfiguration())
                try? await connection.executeThenClose { _, _ in }
                Issue.record("a connection with an untrusted certificate was handed over")
                return
            } catch {
                #expect(error == .connection("\(TLSError.untrustedCertificate(host: "localhost"))"))
            }
        }
    }

    @Test func aTrustedCertificateConnects() async throws {
        let certificate = try Self.makeCertificate()
        defer { certificate.remove() }
        let server = try await Self.startServer(certificate)
        defer { server.close(promise: nil) }
        let connection = try await WebSeedChannel.connect(
            to: Self.endpoint(server), group: MultiThreadedEventLoopGroup.singleton,
            configuration: WebSeedConfiguration(tls: TLSClientSettings(extraCAFile: certificate.certificatePath)))
        try await connection.executeThenClose { _, _ in }
    }

    @Test func aServerThatNeverAnswersTheHandshakeTimesOut() async throws {
        let server = try await Self.startServer(nil)
        defer { server.close(promise: nil) }
        await #expect(throws: WebSeedError.timedOut("waiting for the server's next bytes")) {
            let connection = try await WebSeedChannel.connect(
                to: Self.endpoint(server), group: MultiThreadedEventLoopGroup.singleton,
                configuration: WebSeedConfiguration(stallTimeout: .milliseconds(300)))
            try? await connection.executeThenClose { _, _ in }
        }
    }
}
