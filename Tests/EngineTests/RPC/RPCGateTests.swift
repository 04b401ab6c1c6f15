import Foundation
import Testing

@testable import Engine

/// Who the RPC server lets in: the Host header, basic authentication and the session id handshake.
@Suite struct RPCGateTests {
    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    static func gate(password: String? = "secret", whitelist: [String] = []) -> RPCGate {
        var settings = RPCSettings()
        settings.username = "admin"
        settings.password = password.map { RPCPassword.hashing($0, salt: Array(repeating: 7, count: 16)) }
        settings.whitelist = whitelist
        return RPCGate(settings: settings, sessionID: "SESSION")
    }

    @Test func aRequestWithEverythingRightIsAllowed() {
        let decision = Self.gate().decide(
            host: "127.0.0.1:9091", authorization: Self.basic("admin", "secret"), sessionID: "SESSION",
            needsSession: true)
        #expect(decision == .allow)
    }

    @Test func aMissingOrWrongSessionIdIs409WithTheId() {
        for given in [nil, "OTHER"] {
            let decision = Self.gate().decide(
                host: "localhost:9091", authorization: Self.basic("admin", "secret"), sessionID: given,
                needsSession: true)
            guard case .reject(let status, _, let headers) = decision else {
                Issue.record("not refused: \(decision)")
                continue
            }
            #expect(status == 409)
            #expect(headers[RPCGate.sessionHeader] == "SESSION")
        }
        // The web interface's files need no session id.
        let files = Self.gate().decide(
            host: "[::1]:9091", authorization: Self.basic("admin", "secret"), sessionID: nil, needsSession: false)
        #expect(files == .allow)
    }

    @Test(arguments: [
        nil, "Basic !!!", "Bearer abc", "Basic YWRtaW4=", RPCGateTests.basic("admin", "wrong"),
        RPCGateTests.basic("root", "secret"),
    ])
    func aMissingOrWrongPasswordIs401(_ authorization: String?) {
        let decision = Self.gate().decide(
            host: "127.0.0.1", authorization: authorization, sessionID: "SESSION", needsSession: true)
        guard case .reject(let status, _, let headers) = decision else {
            Issue.record("not refused: \(decision)")
            return
        }
        #expect(status == 401)
        #expect(headers["WWW-Authenticate"]?.hasPrefix("Basic") == true)
    }

    @Test func withoutAPasswordNoAuthenticationIsAsked() {
        let decision = Self.gate(password: nil).decide(
            host: "127.0.0.1:9091", authorization: nil, sessionID: "SESSION", needsSession: true)
        #expect(decision == .allow)
    }

    @Test func aHostNameNotWhitelistedIs421BeforeAnythingElse() {
        let gate = Self.gate(whitelist: ["nas.local", "*.example.org"])
        let refused = gate.decide(host: "evil.example.com:9091", authorization: nil, sessionID: nil, needsSession: true)
        guard case .reject(let status, let message, _) = refused else {
            Issue.record("not refused: \(refused)")
            return
        }
        #expect(status == 421)
        #expect(message.contains("evil.example.com") && message.contains("rpc_whitelist"))
        #expect(gate.decide(host: nil, authorization: nil, sessionID: nil, needsSession: false) != .allow)
        for allowed in ["nas.local:9091", "box.example.org", "LOCALHOST:9091", "10.0.0.2:9091", "[fe80::1]:9091"] {
            let decision = gate.decide(
                host: allowed, authorization: Self.basic("admin", "secret"), sessionID: "SESSION", needsSession: true)
            #expect(decision == .allow, "\(allowed)")
        }
    }

    @Test func passwordsAreStoredSaltedAndReadBack() throws {
        let first = RPCPassword.hashing("pässword")
        let second = RPCPassword.hashing("pässword")
        #expect(first.stored != second.stored, "a fresh salt each time")
        #expect(!first.stored.contains("pässword"))
        let read = try #require(RPCPassword(stored: first.stored))
        #expect(read.matches("pässword"))
        #expect(!read.matches("password"))
        #expect(!read.matches(""))
        for damaged in [
            "", "pässword", "sha256:zz:00", "md5:0011223344556677:" + String(repeating: "0", count: 64),
            "sha256:00:" + String(repeating: "0", count: 64),
        ] {
            #expect(RPCPassword(stored: damaged) == nil, "\(damaged)")
        }
    }
}
