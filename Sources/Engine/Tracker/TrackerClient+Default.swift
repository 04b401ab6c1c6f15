import NIOCore
import NIOPosix

extension TrackerClient {
    /// A client on NIO's shared event loops, with default timeouts, its UDP socket bound to
    /// `bindIPv4` (`0.0.0.0` by default; `127.0.0.1` keeps tests on loopback), and `https://` trusting
    /// what `tls` says.
    public init(bindIPv4: String = "0.0.0.0", tls: TLSClientSettings = .init()) {
        var udp = UDPTrackerClient.Configuration()
        udp.bindIPv4 = bindIPv4
        self.init(group: MultiThreadedEventLoopGroup.singleton, udp: udp, tls: tls)
    }
}
