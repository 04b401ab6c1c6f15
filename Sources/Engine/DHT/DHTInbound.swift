import NIOCore
import Synchronization

/// The first sorting of a DHT node's datagrams, on the socket's event loop, before any of them costs
/// the node's actor a turn: answers from addresses we queried in the last ``awaitWindow`` go to the
/// node first (a flood never crowds out the answers to our own lookups); everything else shares a
/// budget of ``perSecond`` packets a second (``burst`` at once), and what is over it, or larger than a
/// KRPC packet may be, is dropped and counted. Each stream buffers a bounded number of datagrams
/// (the newest win).
final class DHTInbound: Sendable {
    static let perSecond = 500.0
    static let burst = 1_000.0
    /// How long after a query of ours its node's packets count as awaited.
    static let awaitWindow: Duration = DHTNodeCore.queryTimeout
    /// Datagrams each stream holds before the oldest are dropped.
    static let buffered = 512

    /// Datagrams from nodes we are waiting for, and the others within the budget.
    let awaited: AsyncStream<UDPDatagram>
    let others: AsyncStream<UDPDatagram>
    private let awaitedContinuation: AsyncStream<UDPDatagram>.Continuation
    private let othersContinuation: AsyncStream<UDPDatagram>.Continuation

    private struct State {
        /// When we last sent a query to each address (pruned by ``prune(now:)``).
        var queried: [SocketAddress: ContinuousClock.Instant] = [:]
        var tokens = DHTInbound.burst
        var refilled = ContinuousClock.now
        var dropped: Int64 = 0
    }

    private let state = Mutex(State())

    init() {
        (awaited, awaitedContinuation) = AsyncStream.makeStream(
            of: UDPDatagram.self, bufferingPolicy: .bufferingNewest(Self.buffered))
        (others, othersContinuation) = AsyncStream.makeStream(
            of: UDPDatagram.self, bufferingPolicy: .bufferingNewest(Self.buffered))
    }

    /// Packets dropped here so far (over the budget, or too large).
    var dropped: Int64 { state.withLock { $0.dropped } }

    /// We sent a query to `address` at `now`.
    func queried(_ address: SocketAddress, at now: ContinuousClock.Instant) {
        state.withLock { $0.queried[address] = now }
    }

    /// Forgets the addresses queried longer than ``awaitWindow`` ago (the node's tick calls it).
    func prune(now: ContinuousClock.Instant) {
        state.withLock { state in
            state.queried = state.queried.filter { now - $0.value < Self.awaitWindow }
        }
    }

    /// Sorts one datagram (on the event loop).
    func received(_ envelope: AddressedEnvelope<ByteBuffer>) {
        let now = ContinuousClock.now
        let size = envelope.data.readableBytes
        let lane: AsyncStream<UDPDatagram>.Continuation? = state.withLock { state in
            guard size <= KRPCMessage.Limits.maxPacket else {
                state.dropped += 1
                return nil
            }
            if let sent = state.queried[envelope.remoteAddress], now - sent < Self.awaitWindow {
                return awaitedContinuation
            }
            let elapsed = now - state.refilled
            state.refilled = now
            let (seconds, attoseconds) = elapsed.components
            let refill = (Double(seconds) + Double(attoseconds) / 1e18) * Self.perSecond
            state.tokens = min(Self.burst, state.tokens + refill)
            guard state.tokens >= 1 else {
                state.dropped += 1
                return nil
            }
            state.tokens -= 1
            return othersContinuation
        }
        lane?.yield(UDPDatagram(remote: envelope.remoteAddress, bytes: Array(envelope.data.readableBytesView)))
    }

    /// The socket closed: both streams end.
    func finish() {
        awaitedContinuation.finish()
        othersContinuation.finish()
    }
}

/// Hands a DHT socket's datagrams to its ``DHTInbound``.
final class DHTInboundHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let inbound: DHTInbound

    init(_ inbound: DHTInbound) {
        self.inbound = inbound
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inbound.received(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbound.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors (port unreachable) surface here; the query simply times out.
    }
}
