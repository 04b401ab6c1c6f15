/// What travels on a peer connection: one handshake, then messages.
///
/// ``PeerWireDecoder`` produces these and ``PeerWireEncoder`` consumes them.
public enum PeerWireFrame: Hashable, Sendable {
    /// The opening handshake.
    case handshake(PeerHandshake)
    /// A length-prefixed message after the handshake.
    case message(PeerMessage)
}
