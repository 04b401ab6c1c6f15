import ArgumentParser
import Engine

/// The options `btq get` and `btq run` share about peers: where to listen, and peers to dial.
struct PeerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The TCP port to listen on for peers (default: the setting listen_port, else 6881); when it is taken, "
                + "the first free one of the 10 after it, else any free port. The port bound is printed and announced.")
    )
    var port: UInt16?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The address to listen on (default: the setting bind_address, else 0.0.0.0); 0.0.0.0 or :: listens on "
                + "every IPv4 and IPv6 address, on one port.", valueName: "ip"))
    var bindAddress: String?

    @Option(
        name: .customLong("peer"),
        help: ArgumentHelp(
            "Also connect to this peer ([ipv6]:port for IPv6); repeatable.", valueName: "host:port"))
    var peers: [String] = []

    /// The `--peer` addresses (each checked by ``validate()``).
    var peerAddresses: [PeerAddress] { peers.compactMap(PeerAddress.init(parsing:)) }

    func validate() throws {
        for peer in peers where PeerAddress(parsing: peer) == nil {
            throw ValidationError("--peer '\(peer)' is not HOST:PORT.")
        }
        if let port, port == 0 { throw ValidationError("--port must be 1...65535.") }
        if let bindAddress, SettingText.ipAddress(bindAddress) == nil {
            throw ValidationError("--bind-address '\(bindAddress)' is not a numeric IPv4 or IPv6 address.")
        }
    }
}
