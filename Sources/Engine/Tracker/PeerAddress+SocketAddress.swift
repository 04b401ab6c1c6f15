import NIOCore

extension PeerAddress {
    /// The IP address and port of a socket address; `nil` for a Unix socket.
    init?(socketAddress: SocketAddress) {
        guard let ip = socketAddress.ipAddress, let port = socketAddress.port, port > 0, port <= 65535 else {
            return nil
        }
        let text = ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        self.init(parsing: text)
    }
}
