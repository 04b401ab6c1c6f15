import NIOCore
import NIOPosix

@testable import Engine

/// A BEP 15 tracker on 127.0.0.1 (or ::1) and an ephemeral port: answers connect, announce and scrape
/// as ``Behavior`` says and reports every datagram it received on ``packets``.
final class FakeUDPTracker: Sendable {
    struct Behavior: Sendable {
        /// Datagrams ignored before the first answer (retransmission tests).
        var dropFirst = 0
        /// Ignore everything.
        var silent = false
        /// Answer each announce first with a wrong transaction id, then correctly.
        var wrongTransactionFirst = false
        /// Answer each announce first from another socket (same transaction id, other peers), then correctly.
        var spoofFromOtherSocket = false
        /// Answer announces and scrapes with this error.
        var errorMessage: String?
        var interval: UInt32 = 1800
        var leechers: UInt32 = 3
        var seeders: UInt32 = 5
        var peers: [PeerAddress] = [
            PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6881), PeerAddress(host: .ipv4(127, 0, 0, 2), port: 6882),
        ]
    }

    struct Packet: Sendable {
        var bytes: [UInt8]
        var dropped: Bool
        var action: UInt32 { bytes.count >= 12 ? bytes.readBigEndianUInt32(at: 8) : .max }
        var transactionId: UInt32 { bytes.count >= 16 ? bytes.readBigEndianUInt32(at: 12) : 0 }
        var connectionId: UInt64 { bytes.readBigEndianUInt64(at: 0) }
    }

    let port: Int
    let host: String
    let packets: AsyncStream<Packet>
    private let channel: any Channel
    private let rogue: any Channel

    private init(channel: any Channel, rogue: any Channel, host: String, packets: AsyncStream<Packet>) {
        self.channel = channel
        self.rogue = rogue
        self.host = host
        self.port = channel.localAddress!.port!
        self.packets = packets
    }

    static func start(host: String = "127.0.0.1", behavior: Behavior = .init()) async throws -> FakeUDPTracker {
        let (stream, continuation) = AsyncStream.makeStream(of: Packet.self)
        let group = MultiThreadedEventLoopGroup.singleton
        let rogue = try await DatagramBootstrap(group: group).bind(host: host, port: 0).get()
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Handler(behavior: behavior, ipv6: host.contains(":"), rogue: rogue, packets: continuation))
                }
            }
            .bind(host: host, port: 0).get()
        return FakeUDPTracker(channel: channel, rogue: rogue, host: host, packets: stream)
    }

    /// `udp://127.0.0.1:<port><path>` or `udp://[::1]:<port><path>`.
    func url(_ path: String = "/announce") -> String {
        host.contains(":") ? "udp://[\(host)]:\(port)\(path)" : "udp://\(host):\(port)\(path)"
    }

    /// The next `count` datagrams, in order.
    func next(_ count: Int) async -> [Packet] {
        var out: [Packet] = []
        for await packet in packets {
            out.append(packet)
            if out.count == count { break }
        }
        return out
    }

    /// The datagrams up to and including the first whose action is `action`.
    func through(action: UInt32) async -> [Packet] {
        var out: [Packet] = []
        for await packet in packets {
            out.append(packet)
            if packet.action == action { break }
        }
        return out
    }

    func stop() async {
        try? await channel.close()
        try? await rogue.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>

        private let behavior: Behavior
        private let ipv6: Bool
        private let rogue: any Channel
        private let packets: AsyncStream<Packet>.Continuation
        private var dropped = 0
        private var issued: Set<UInt64> = []
        private var nextConnectionId: UInt64 = 0x1111_2222_3333_0000

        init(behavior: Behavior, ipv6: Bool, rogue: any Channel, packets: AsyncStream<Packet>.Continuation) {
            self.behavior = behavior
            self.ipv6 = ipv6
            self.rogue = rogue
            self.packets = packets
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let bytes = Array(envelope.data.readableBytesView)
            let drop = behavior.silent || dropped < behavior.dropFirst
            if drop { dropped += 1 }
            packets.yield(Packet(bytes: bytes, dropped: drop))
            guard !drop, bytes.count >= 16 else { return }
            let packet = Packet(bytes: bytes, dropped: false)
            let transaction = packet.transactionId
            let remote = envelope.remoteAddress
            let channel = context.channel
            @Sendable func send(_ reply: [UInt8], on channel: any Channel) -> EventLoopFuture<Void> {
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: reply)))
            }
            switch packet.action {
            case 0:
                guard packet.connectionId == UDPTrackerMessage.protocolId else { return }
                nextConnectionId += 1
                issued.insert(nextConnectionId)
                var reply: [UInt8] = []
                reply.appendBigEndian(UInt32(0))
                reply.appendBigEndian(transaction)
                reply.appendBigEndian(nextConnectionId)
                _ = send(reply, on: channel)
            case 1, 2:
                if let message = behavior.errorMessage ?? (issued.contains(packet.connectionId) ? nil : "bad id") {
                    var reply: [UInt8] = []
                    reply.appendBigEndian(UInt32(3))
                    reply.appendBigEndian(transaction)
                    reply += Array(message.utf8)
                    _ = send(reply, on: channel)
                    return
                }
                if packet.action == 2 {
                    var reply: [UInt8] = []
                    reply.appendBigEndian(UInt32(2))
                    reply.appendBigEndian(transaction)
                    for index in 0..<(bytes.count - 16) / 20 {
                        for value in [behavior.seeders, UInt32(index), behavior.leechers] {
                            reply.appendBigEndian(value)
                        }
                    }
                    _ = send(reply, on: channel)
                    return
                }
                let genuine = announceReply(transaction, peers: behavior.peers)
                if behavior.wrongTransactionFirst {
                    _ = send(announceReply(transaction &+ 1, peers: []), on: channel)
                    _ = send(genuine, on: channel)
                } else if behavior.spoofFromOtherSocket {
                    let fake = [
                        PeerAddress(host: ipv6 ? .ipv6([UInt8](repeating: 6, count: 16)) : .ipv4(6, 6, 6, 6), port: 666)
                    ]
                    send(announceReply(transaction, peers: fake), on: rogue).whenComplete { _ in
                        _ = send(genuine, on: channel)
                    }
                } else {
                    _ = send(genuine, on: channel)
                }
            default:
                return
            }
        }

        private func announceReply(_ transaction: UInt32, peers: [PeerAddress]) -> [UInt8] {
            var reply: [UInt8] = []
            for value in [1, transaction, behavior.interval, behavior.leechers, behavior.seeders] {
                reply.appendBigEndian(value)
            }
            for peer in peers { reply += peer.compact ?? [] }
            return reply
        }
    }
}
