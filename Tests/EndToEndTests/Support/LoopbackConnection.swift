import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client connection to 127.0.0.1, with a receive timeout: enough to poke a tracker's
/// HTTP port or speak a few wire-protocol messages to a test peer.
final class LoopbackConnection {
    private let fd: Int32

    /// Connects to 127.0.0.1:`port`; reads give up after `timeout`.
    init(port: UInt16, timeout: Duration = .seconds(5)) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        let seconds = timeout.components.seconds
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = FreePort.loopback(port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw HarnessError("cannot connect to 127.0.0.1:\(port): errno \(code)")
        }
    }

    deinit { close(fd) }

    /// Sends all of `bytes`.
    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { throw HarnessError("send failed: errno \(errno)") }
            sent += n
        }
    }

    /// Reads exactly `count` bytes; throws on end of stream or timeout.
    func read(exactly count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            guard n > 0 else {
                throw HarnessError(
                    n == 0 ? "connection closed after \(got) of \(count) bytes" : "recv failed: errno \(errno)")
            }
            got += n
        }
        return buffer
    }

    /// Reads until the peer closes the connection (or `limit` bytes, or the timeout).
    func readToEnd(limit: Int = 1 << 20) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while result.count < limit {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n <= 0 { break }
            result += buffer[0..<n]
        }
        return result
    }

    /// One HTTP/1.0 GET of `path` on 127.0.0.1:`port`; the whole response (headers and body) as text.
    static func httpGet(port: UInt16, path: String) throws -> String {
        let connection = try LoopbackConnection(port: port)
        try connection.send(Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8))
        return String(decoding: connection.readToEnd(), as: UTF8.self)
    }
}
