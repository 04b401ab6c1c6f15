import NIOCore

extension ChannelPipeline.SynchronousOperations {
    /// Adds the peer wire codec: a ``PeerWireFramer`` (inbound `ByteBuffer` to ``PeerWireFrame``)
    /// and a ``PeerWireEncoder`` (outbound ``PeerWireFrame`` to `ByteBuffer`).
    ///
    /// Must be called on the channel's event loop. A decoding error is fired down the pipeline as
    /// a ``PeerWireError``; the handler that receives it should close the connection.
    /// Partly received frames count against `budget` when one is given.
    public func addPeerWireCodec(
        maxFrameLength: Int = PeerMessageDecoder.defaultMaxFrameLength, budget: PeerMemoryBudget? = nil
    ) throws {
        try addHandler(PeerWireFramer(maxFrameLength: maxFrameLength, budget: budget))
        try addHandler(PeerWireEncoder())
    }
}
