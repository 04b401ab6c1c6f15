import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Free TCP (and UDP) ports on 127.0.0.1 for the programs a test starts.
///
/// A port is chosen at random below the kernel's ephemeral range (so no outgoing connection can take
/// it between the check and the program's own bind), checked by binding it on 127.0.0.1 and closing
/// the socket again, and never handed out twice in one test process, so tests running in parallel
/// cannot collide.
enum FreePort {
    private static let handedOut = Mutex<Set<UInt16>>([])

    /// The lowest ephemeral port (`/proc/sys/net/ipv4/ip_local_port_range`), 32768 if unreadable.
    private static let ephemeralStart: Int = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32768
    }()

    /// A port free for TCP on 127.0.0.1, and also for UDP when `udp` is true (opentracker serves both
    /// on one port).
    static func next(udp: Bool = false) throws -> UInt16 {
        let upper = max(ephemeralStart, 20_001)
        for _ in 0..<500 {
            let port = UInt16(Int.random(in: 20_000..<upper))
            let fresh = handedOut.withLock { $0.insert(port).inserted }
            guard fresh else { continue }
            if canBind(port, type: Int32(SOCK_STREAM.rawValue)), !udp || canBind(port, type: Int32(SOCK_DGRAM.rawValue))
            {
                return port
            }
        }
        throw PortError()
    }

    struct PortError: Error, CustomStringConvertible {
        var description: String { "no free port found on 127.0.0.1 after 500 tries" }
    }

    /// True when a socket of `type` can bind 127.0.0.1:`port` right now.
    static func canBind(_ port: UInt16, type: Int32) -> Bool {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    static func isAccepting(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func loopback(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
