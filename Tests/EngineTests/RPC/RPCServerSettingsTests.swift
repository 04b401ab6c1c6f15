import Foundation
import Testing

@testable import Engine

#if canImport(Glibc)
import Glibc
#endif

/// The running RPC server takes new settings without a restart: who may talk to it at the next
/// request, a new address by listening there and closing the old socket, and settings that may not be
/// served change nothing.
@Suite(.timeLimit(.minutes(2)))
struct RPCServerSettingsTests {
    static func settings(password: String?, whitelist: [String] = []) -> RPCSettings {
        var settings = RPCSettings()
        settings.port = 0
        settings.password = password.map { RPCPassword.hashing($0) }
        settings.whitelist = whitelist
        return settings
    }

    /// The status of one POST to the RPC endpoint of `address:port`, or `nil` when nothing listens.
    static func status(
        _ address: String, _ port: Int, password: String?, host: String = "127.0.0.1"
    ) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var limit = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, address, &target.sin_addr)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        var head = "POST /transmission/rpc HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\nContent-Length: 2\r\n"
        if let password { head += "Authorization: Basic \(Data("u:\(password)".utf8).base64EncodedString())\r\n" }
        let request = Array((head + "\r\n{}").utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count
        else { return nil }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while answer.count < 1 << 16 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        let text = String(decoding: answer, as: UTF8.self)
        return text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
    }

    @Test func aNewPasswordAndWhitelistAreInForceAtTheNextRequest() async throws {
        let server = try await RPCServer.start(
            settings: Self.settings(password: "old"), backend: RPCDispatcherTests.RecordingBackend([]))
        let port = server.port
        // 409: let in, asked for the session id.
        #expect(Self.status("127.0.0.1", port, password: "old") == 409)
        #expect(Self.status("127.0.0.1", port, password: "old", host: "nas.example") == 421)
        let applied = await server.apply(Self.settings(password: "new", whitelist: ["nas.example"]))
        #expect(applied.accessChanged && !applied.rebound && applied.refusal == nil)
        #expect(Self.status("127.0.0.1", port, password: "old") == 401)
        #expect(Self.status("127.0.0.1", port, password: "new") == 409)
        #expect(Self.status("127.0.0.1", port, password: "new", host: "nas.example") == 409)
        #expect(server.port == port)
        await server.close()
    }

    @Test func aNewAddressIsListenedOnAndTheOldOneClosed() async throws {
        let server = try await RPCServer.start(
            settings: Self.settings(password: nil), backend: RPCDispatcherTests.RecordingBackend([]))
        let old = server.port
        var moved = Self.settings(password: nil)
        moved.bindAddress = "127.0.0.2"
        let applied = await server.apply(moved)
        #expect(applied.rebound && applied.refusal == nil)
        let new = server.port
        #expect(Self.status("127.0.0.2", new, password: nil) == 409)
        #expect(Self.status("127.0.0.1", old, password: nil) == nil, "nothing listens on the old address")
        await server.close()
        #expect(Self.status("127.0.0.2", new, password: nil) == nil)
    }

    @Test func settingsThatMayNotBeServedChangeNothing() async throws {
        let server = try await RPCServer.start(
            settings: Self.settings(password: "pw"), backend: RPCDispatcherTests.RecordingBackend([]))
        let port = server.port
        // Every address of the host, without a password: refused, the old settings kept.
        var open = Self.settings(password: nil)
        open.bindAddress = "0.0.0.0"
        let applied = await server.apply(open)
        #expect(applied.refusal?.contains("without a password") == true)
        #expect(!applied.rebound && !applied.accessChanged)
        #expect(Self.status("127.0.0.1", port, password: nil) == 401)
        #expect(Self.status("127.0.0.1", port, password: "pw") == 409)
        await server.close()
    }
}
