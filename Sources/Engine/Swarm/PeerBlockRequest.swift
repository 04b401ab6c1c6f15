/// A block request addressed to, or made of, one peer: what the picker tells the session to cancel.
public struct PeerBlockRequest: Hashable, Sendable, CustomStringConvertible {
    /// The peer.
    public var peer: PeerKey
    /// The block.
    public var request: BlockRequest

    /// Pairs a peer and a request.
    public init(peer: PeerKey, request: BlockRequest) {
        self.peer = peer
        self.request = request
    }

    /// `peer#N piece:begin+length`.
    public var description: String { "\(peer) \(request)" }
}
