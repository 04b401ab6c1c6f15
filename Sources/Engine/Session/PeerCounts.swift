/// A session's connected peers (past their handshake) counted by where their address came from and
/// by what they transfer now, as Transmission's `peersFrom`, `peersSendingToUs` and
/// `peersGettingFromUs` report them.
package struct PeerCounts: Sendable, Hashable {
    /// By source: a tracker, the DHT, peer exchange, local discovery, connected to us.
    package var fromTracker = 0
    package var fromDHT = 0
    package var fromPEX = 0
    package var fromLSD = 0
    package var fromIncoming = 0
    /// Given by the user (`--peer`) or a magnet link's `x.pe`: none of Transmission's sources.
    package var fromOther = 0
    /// Peers that sent us payload, and that we sent payload to, over the last rate window.
    package var sendingToUs = 0
    package var gettingFromUs = 0

    package init() {}

    /// Counts one peer from `source`.
    package mutating func count(_ source: PeerUpdate.Source, sending: Bool, getting: Bool) {
        switch source {
        case .tracker: fromTracker += 1
        case .dht: fromDHT += 1
        case .pex: fromPEX += 1
        case .lsd: fromLSD += 1
        case .incoming: fromIncoming += 1
        default: fromOther += 1
        }
        if sending { sendingToUs += 1 }
        if getting { gettingFromUs += 1 }
    }
}
