extension PeerConnectionStateMachine {
    /// What a connection's state machine needs to know about the torrent and the negotiated extensions.
    public struct Configuration: Hashable, Sendable {
        /// The number of pieces in the torrent.
        public var pieceCount: Int
        /// The nominal piece length; requests past it are refused. The exact end of a short last
        /// piece (or of a v2 file's last piece) is for the storage layer to check.
        public var pieceLength: UInt32
        /// Whether both handshakes set the Fast extension bit (BEP 6).
        public var fastExtension: Bool
        /// Whether both handshakes set the extension protocol bit (BEP 10).
        public var extensionProtocol: Bool
        /// The longest block a peer may request; BEP 3 clients close on more than 16 KiB.
        public var maxRequestLength: UInt32
        /// The most requests from the peer kept queued; later ones are rejected (Fast) or dropped.
        public var maxPeerRequests: Int
        /// The most requests the peer may send while we choke it (counted from our last unchoke)
        /// before it is dropped; with the Fast extension each is answered with a reject. Requests
        /// that cross a choke are normal, but no more than the peer had in flight can cross it.
        public var maxRequestsWhileChoked: Int
        /// The most `have` messages for pieces the peer had already announced before it is dropped.
        public var maxRedundantHaves: Int
        /// The most cancelled requests remembered, so a block or reject already on its way is not
        /// taken for a violation.
        public var maxCancelledRequests: Int

        /// A configuration with the given extensions on or off and default limits.
        public init(
            pieceCount: Int,
            pieceLength: UInt32,
            fastExtension: Bool = false,
            extensionProtocol: Bool = false,
            maxRequestLength: UInt32 = 16 * 1024,
            maxPeerRequests: Int = 500,
            maxCancelledRequests: Int = 512,
            maxRequestsWhileChoked: Int = 2000,
            maxRedundantHaves: Int = 1000
        ) {
            precondition(pieceCount >= 0 && pieceCount <= Int(UInt32.max), "piece count out of range")
            self.pieceCount = pieceCount
            self.pieceLength = pieceLength
            self.fastExtension = fastExtension
            self.extensionProtocol = extensionProtocol
            self.maxRequestLength = maxRequestLength
            self.maxPeerRequests = maxPeerRequests
            self.maxCancelledRequests = maxCancelledRequests
            self.maxRequestsWhileChoked = maxRequestsWhileChoked
            self.maxRedundantHaves = maxRedundantHaves
        }

        /// A configuration whose extensions are those both handshakes announce.
        public init(pieceCount: Int, pieceLength: UInt32, local: ReservedBits, remote: ReservedBits) {
            self.init(
                pieceCount: pieceCount,
                pieceLength: pieceLength,
                fastExtension: local.supportsFast && remote.supportsFast,
                extensionProtocol: local.supportsExtensionProtocol && remote.supportsExtensionProtocol
            )
        }
    }
}
