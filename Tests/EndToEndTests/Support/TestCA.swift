import Foundation

/// A certificate authority made at test time with the `openssl` CLI in the test's folder, and the
/// server certificates it signs: for TLS fronts (HTTPS trackers, web seeds) that btq must trust only
/// through its `tls_ca_file` setting. Keys are P-256, certificates valid for two days.
struct TestCA: Sendable {
    /// A server certificate and its key, both PEM.
    struct ServerCertificate: Sendable {
        let certificate: URL
        let key: URL
    }

    let scenario: Scenario
    /// The CA's certificate (PEM): what `tls_ca_file` names.
    let certificate: URL
    private let key: URL
    private let folder: URL

    /// Makes a new CA named `name` in `<test folder>/<name>`.
    static func make(in scenario: Scenario, name: String = "test-ca") async throws -> TestCA {
        let folder = try scenario.folder(name)
        let ca = TestCA(
            scenario: scenario, certificate: folder.appendingPathComponent("ca.pem"),
            key: folder.appendingPathComponent("ca.key"), folder: folder)
        try await ca.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            ca.key.path, "-out", ca.certificate.path, "-days", "2", "-subj", "/CN=btq \(name)", "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
        return ca
    }

    /// A server certificate signed by this CA for `names`: IP addresses become `IP:` and the others
    /// `DNS:` subjectAltNames (by default `127.0.0.1` and `localhost`).
    func serverCertificate(
        for names: [String] = ["127.0.0.1", "localhost"], file: String = "server"
    ) async throws -> ServerCertificate {
        let key = folder.appendingPathComponent("\(file).key")
        let request = folder.appendingPathComponent("\(file).csr")
        let certificate = folder.appendingPathComponent("\(file).pem")
        let extensions = folder.appendingPathComponent("\(file).ext")
        let alternativeNames = names.map { Self.isAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        try """
        subjectAltName=\(alternativeNames)
        basicConstraints=CA:FALSE
        keyUsage=critical,digitalSignature
        extendedKeyUsage=serverAuth

        """.write(to: extensions, atomically: true, encoding: .utf8)
        try await openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key.path,
            "-out", request.path, "-subj", "/CN=\(names.first ?? "server")",
        ])
        try await openssl([
            "x509", "-req", "-in", request.path, "-CA", self.certificate.path,
            "-CAkey", self.key.path, "-CAcreateserial", "-out", certificate.path, "-days", "2", "-extfile",
            extensions.path,
        ])
        return ServerCertificate(certificate: certificate, key: key)
    }

    private func openssl(_ arguments: [String]) async throws {
        let result = try await scenario.runTool("openssl", "/usr/bin/openssl", arguments, quiet: true)
        guard result.status == 0 else {
            throw HarnessError("openssl \(arguments.prefix(2).joined(separator: " ")) failed:\n\(result.output)")
        }
    }

    /// True for an IPv6 literal or a dotted IPv4 address.
    private static func isAddress(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return name.contains(":") || (parts.count == 4 && parts.allSatisfy { UInt8($0) != nil })
    }
}
