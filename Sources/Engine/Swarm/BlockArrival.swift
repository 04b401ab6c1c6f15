/// What the session should do with a block that arrived.
public struct BlockArrival: Hashable, Sendable {
    /// True when the bytes are new and wanted: write them, then call
    /// ``PiecePicker/blockWritten(_:)``. False for duplicates, unrequested blocks of unwanted pieces
    /// and malformed requests: drop the bytes.
    public var isAccepted: Bool
    /// Requests of the same block sent to other peers (endgame), to cancel now.
    public var cancels: [PeerBlockRequest]

    /// Creates an outcome.
    public init(isAccepted: Bool, cancels: [PeerBlockRequest] = []) {
        self.isAccepted = isAccepted
        self.cancels = cancels
    }
}
