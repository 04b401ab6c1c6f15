import Foundation
import NIOCore
import NIOSSL
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct TLSClientSettingsTests {
    /// A CA certificate (PEM) shipped with the tests.
    static let fixtureCA = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("tls/ca.pem").path

    /// A fresh temporary folder.
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("btq-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func systemTrustStoreAloneBuilds() throws {
        let settings = TLSClientSettings()
        #expect(settings.extraCAFile == nil)
        _ = try settings.makeContext()
        #expect(TLSClientSettings(extraCAFile: "").extraCAFile == nil)
    }

    @Test func extraCAFileIsLoaded() throws {
        let certificates = try TLSClientSettings.loadCertificates(Self.fixtureCA)
        #expect(certificates.count == 1)
        _ = try TLSClientSettings(extraCAFile: Self.fixtureCA).makeContext()
    }

    @Test func missingCAFileIsATypedError() throws {
        let path = try Self.folder().appendingPathComponent("absent.pem").path
        #expect(throws: TLSError.caFileUnreadable(path, reason: "no such file")) {
            try TLSClientSettings(extraCAFile: path).makeContext()
        }
    }

    @Test func folderAsCAFileIsATypedError() throws {
        let path = try Self.folder().path
        do {
            _ = try TLSClientSettings(extraCAFile: path).makeContext()
            Issue.record("a folder was accepted as a CA file")
        } catch {
            #expect(error.isSettingsError)
            #expect(error.description.hasPrefix("cannot read the CA file \(path)"))
        }
    }

    @Test(arguments: ["", "not a certificate\n", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
    func fileWithoutACertificateIsATypedError(_ text: String) throws {
        let path = try Self.folder().appendingPathComponent("bad.pem").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: TLSError.caFileInvalid(path)) { try TLSClientSettings(extraCAFile: path).makeContext() }
    }

    @Test func oversizedCAFileIsRefusedWithoutReadingItAll() throws {
        let path = try Self.folder().appendingPathComponent("huge.pem").path
        var pem = try String(contentsOfFile: Self.fixtureCA, encoding: .utf8)
        while pem.utf8.count <= TLSClientSettings.maxCAFileLength { pem += pem }
        try pem.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(
            throws: TLSError.caFileUnreadable(
                path, reason: "larger than \(TLSClientSettings.maxCAFileLength) bytes")
        ) { try TLSClientSettings(extraCAFile: path).makeContext() }
    }

    @Test func libraryErrorsBecomeMessages() {
        #expect(
            TLSClientContext.describing(NIOSSLExtraError.failedToValidateHostname, host: "a.example")
                == .nameMismatch(host: "a.example"))
        #expect(
            TLSClientContext.describing(NIOSSLError.uncleanShutdown, host: "a.example")?.description
                == "TLS handshake with a.example failed: the server closed the connection during TLS")
        #expect(TLSClientContext.describing(ChannelError.ioOnClosedChannel, host: "a.example") == nil)
        #expect(TLSError.untrustedCertificate(host: "a.example:443").description.contains("is not trusted"))
        #expect(!TLSError.untrustedCertificate(host: "a").isSettingsError)
    }

    @Test func addressesGetNoServerName() {
        #expect(TLSClientContext.isAddressLiteral("127.0.0.1"))
        #expect(TLSClientContext.isAddressLiteral("::1"))
        #expect(!TLSClientContext.isAddressLiteral("localhost"))
        #expect(!TLSClientContext.isAddressLiteral("tracker.example.org"))
    }
}
