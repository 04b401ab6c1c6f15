import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on 127.0.0.1 held by a listening socket of the test itself (another program's port, as
/// far as btq can tell), until ``close()`` or the end of the object.
final class HeldPort: Sendable {
    /// The port held.
    let port: UInt16
    private let fd: Int32

    /// Binds and listens on 127.0.0.1:`port`, or a free port when `nil`.
    init(_ port: UInt16? = nil) throws {
        let wanted = try port ?? FreePort.next()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        var address = FreePort.loopback(wanted)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard bound, listen(fd, 8) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw HarnessError("cannot hold 127.0.0.1:\(wanted): errno \(code)")
        }
        self.port = wanted
        self.fd = fd
    }

    deinit { Glibc.close(fd) }
}
