import NIOCore

extension PeerAddress {
    /// The IP address and port of a socket address (an IPv4-mapped IPv6 address as the IPv4 one);
    /// `nil` for a Unix socket.
    init?(socketAddress: SocketAddress) {
        guard let ip = socketAddress.ipAddress, let port = socketAddress.port, port > 0, port <= 65535 else {
            return nil
        }
        let text = ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        self.init(parsing: text)
        if case .ipv6(let bytes) = host, bytes.prefix(12).elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) {
            host = .ipv4(bytes[12], bytes[13], bytes[14], bytes[15])
        }
    }
}
