import NIOCore

extension PeerConnectionStateMachine {
    /// What the connection's owner must do after a received message.
    public enum ReceiveAction: Hashable, Sendable {
        /// Nothing (keep-alive, a repeated state message, an ignored request or an unknown message id).
        case none
        /// The peer choked us. Without the Fast extension it discarded our requests: give
        /// `droppedRequests` back to the picker. With it, they stay outstanding until rejected.
        case peerChoked(droppedRequests: [BlockRequest])
        /// The peer unchoked us: requests may be sent.
        case peerUnchoked
        /// The peer became interested in our pieces.
        case peerInterested
        /// The peer lost interest in our pieces.
        case peerNotInterested
        /// The peer has a piece it did not have before.
        case peerHasPiece(PieceIndex)
        /// The peer announced all its pieces (bitfield, have all or have none).
        case peerBitfield(PeerBitfield)
        /// A block we requested arrived.
        case blockReceived(BlockRequest, block: ByteBuffer)
        /// The peer will not serve one of our outstanding requests: give it back to the picker.
        case requestRejected(BlockRequest)
        /// The peer asks for a block: read it, then pass it to ``PeerConnectionStateMachine/blockReady(for:block:)``.
        case peerRequested(BlockRequest)
        /// The peer withdrew a request that was still queued; its block need not be read.
        case peerCancelled(BlockRequest)
        /// Send this message to the peer now (a `reject request` under the Fast extension).
        case send(PeerMessage)
        /// The peer suggests a piece (BEP 6).
        case peerSuggestedPiece(PieceIndex)
        /// The peer lets us request a piece while choked (BEP 6).
        case peerAllowedFast(PieceIndex)
        /// The peer's DHT node listens on this UDP port (BEP 5).
        case peerDHTPort(UInt16)
        /// An extension protocol message (BEP 10) for the extension layer.
        case extended(id: UInt8, payload: ByteBuffer)
        /// The peer broke the protocol: drop the connection.
        case protocolViolation(PeerProtocolViolation)
    }
}
