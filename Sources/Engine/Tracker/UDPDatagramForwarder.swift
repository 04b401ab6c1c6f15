import NIOCore

/// One datagram a UDP tracker socket received.
struct UDPDatagram: Sendable {
    /// Who sent it.
    var remote: SocketAddress
    /// The payload.
    var bytes: [UInt8]
}

/// Hands every datagram of a UDP socket to an `AsyncStream`, where ``UDPTrackerClient`` matches it to a
/// waiting transaction. The stream buffers a bounded number of datagrams (the newest win), so a
/// flood cannot grow memory; a dropped reply just costs a retransmission.
final class UDPDatagramForwarder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    /// Largest payload kept; BEP 15 replies are far smaller (an announce with 200 IPv6 peers is 3,620 bytes).
    static let maxDatagramLength = 8192

    private let continuation: AsyncStream<UDPDatagram>.Continuation

    /// Forwards to `continuation`, finishing it when the channel closes.
    init(continuation: AsyncStream<UDPDatagram>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.data.readableBytes <= Self.maxDatagramLength else { return }
        continuation.yield(UDPDatagram(remote: envelope.remoteAddress, bytes: Array(envelope.data.readableBytesView)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors (port unreachable) surface here; the transaction simply times out and retries.
    }
}
