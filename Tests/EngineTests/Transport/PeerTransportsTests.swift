import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import Engine

/// uTP wired in beside TCP, over real sockets on 127.0.0.1: the DHT and uTP on one UDP socket, the
/// dialling order and its memory, the fallback to TCP, and incoming uTP under the same admission
/// limits as TCP.
@Suite(.timeLimit(.minutes(1))) struct PeerTransportsTests {
    static let v4 = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 6881)

    /// A DHT node on a uTP socket answers another node (KRPC datagrams reach it), and uTP connections
    /// to the same socket are accepted before and after the node closes (the socket stays open).
    @Test func dhtAndUTPShareOneSocket() async throws {
        let shared = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        try await shared.setAcceptor { _ in true }
        var configuration = MainlineDHT.Configuration(family: .ipv4, host: "127.0.0.1", port: shared.port)
        configuration.tickInterval = .milliseconds(50)
        let node = try await MainlineDHT.start(configuration, store: nil, shared: shared)
        Task { await node.run() }
        #expect(node.port == shared.port)
        var other = MainlineDHT.Configuration(family: .ipv4, host: "127.0.0.1", port: 0)
        other.tickInterval = .milliseconds(50)
        other.bootstrapNodes = [node.address]
        let second = try await MainlineDHT.start(other, store: nil)
        Task { await second.run() }
        let met = try await poll(timeout: .seconds(10)) {
            let first = await node.nodeCount
            let other = await second.nodeCount
            return first >= 1 && other >= 1
        }
        #expect(met, "the nodes found each other through the shared socket")

        let client = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(shared.port))
        try await client.connect(to: target) { _ in }
        await node.close()
        // The socket is the uTP socket's still: a connection after the node left works.
        try await client.connect(to: target) { _ in }
        #expect(shared.channel.isActive)
        await second.close()
        await client.close()
        await shared.close()
    }

    /// uTP first when on and a socket of the family is bound, then TCP; TCP first for an address
    /// where only TCP worked; nothing for a family without a socket when TCP is off.
    @Test func dialOrder() async throws {
        let socket = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let both = PeerTransports(tcp: true, utp: true, sockets: [socket])
        #expect(both.order(for: Self.v4) == [.utp, .tcp])
        both.remember(.tcp, for: Self.v4)
        #expect(both.order(for: Self.v4) == [.tcp, .utp])
        both.remember(.utp, for: Self.v4)
        #expect(both.order(for: Self.v4) == [.utp, .tcp])
        let v6 = PeerAddress(host: .ipv6([UInt8](repeating: 0, count: 15) + [1]), port: 6881)
        #expect(both.order(for: v6) == [.tcp])
        let utpOnly = PeerTransports(tcp: false, utp: true, sockets: [socket])
        #expect(utpOnly.order(for: Self.v4) == [.utp])
        #expect(utpOnly.order(for: v6).isEmpty)
        let off = PeerTransports(tcp: true, utp: false, sockets: [socket])
        #expect(off.order(for: Self.v4) == [.tcp])
        // A host that said nothing listens on its UDP port: TCP alone, until something gets through;
        // uTP still when it is the only transport.
        let other = PeerAddress(host: .ipv4(127, 0, 0, 2), port: 6881)
        both.rememberUDPPortClosed(other)
        #expect(both.order(for: other) == [.tcp] && both.remembered(other) == nil)
        both.remember(.tcp, for: other)
        #expect(both.order(for: other) == [.tcp, .utp])
        utpOnly.rememberUDPPortClosed(other)
        #expect(utpOnly.order(for: other) == [.utp])
        await socket.close()
    }

    /// A gone peer (nothing listens on its port, TCP or UDP): the first dial races both and fails; the
    /// host's "port unreachable" is remembered, so the retries dial TCP alone.
    @Test func aPeerWithItsUDPPortClosedIsRetriedOverTCPAlone() async throws {
        let held = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(held.localAddress?.port)
        try await held.close()
        let socket = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let transports = PeerTransports(
            tcp: true, utp: true, sockets: [socket], utpConnectTimeout: .seconds(30), utpGrace: .milliseconds(50))
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: UInt16(port))
        #expect(transports.order(for: address) == [.utp, .tcp])
        await #expect(throws: (any Error).self) {
            _ = try await PeerDialer.connect(
                to: address, transports: transports, group: MultiThreadedEventLoopGroup.singleton,
                timeout: .seconds(30), maxFrameLength: 1 << 20)
        }
        #expect(transports.order(for: address) == [.tcp])
        await socket.close()
    }

    /// The memory of what worked is bounded: past the most, the oldest half is forgotten.
    @Test func rememberedTransportsAreBounded() {
        let transports = PeerTransports(tcp: true, utp: true)
        for index in 0...PeerTransports.maxRemembered {
            transports.remember(
                .tcp,
                for: PeerAddress(
                    host: .ipv4(10, UInt8(index >> 16), UInt8((index >> 8) & 255), UInt8(index & 255)), port: 1))
        }
        #expect(transports.rememberedCount <= PeerTransports.maxRemembered)
        #expect(transports.remembered(PeerAddress(host: .ipv4(10, 0, 0, 0), port: 1)) == nil)
        let newest = PeerTransports.maxRemembered
        #expect(
            transports.remembered(
                PeerAddress(
                    host: .ipv4(10, UInt8(newest >> 16), UInt8((newest >> 8) & 255), UInt8(newest & 255)), port: 1))
                == .tcp)
    }

    /// A peer that listens on TCP only: the uTP dial gets no answer (the probe finds its UDP port
    /// closed), TCP wins long before uTP's own timeout, the uTP attempt is called off, and the address
    /// is remembered as TCP.
    @Test func fallsBackToTCPAndRemembers() async throws {
        let registry = SessionRegistry()
        let listener = try await PeerListener.bind(
            hosts: ["127.0.0.1"], port: 0, registry: registry, tcp: true, utp: false)
        Task { await listener.run() }
        let socket = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let transports = PeerTransports(
            tcp: true, utp: true, sockets: [socket], utpConnectTimeout: .seconds(30), utpGrace: .milliseconds(100))
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: listener.port)
        let (channel, security) = try await PeerDialer.connect(
            to: address, transports: transports, group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(5),
            maxFrameLength: 1 << 20)
        #expect(security == .plain)
        #expect(!(channel.channel is UTPChannel))
        #expect(transports.remembered(address) == .tcp)
        #expect(transports.order(for: address) == [.tcp, .utp])
        try? await channel.executeThenClose { _, _ in }
        listener.close()
        await socket.close()
    }

    /// Closes every connection as soon as it sends anything: a plaintext-only peer meeting an MSE
    /// handshake.
    final class RefuseOnRead: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.close(promise: nil) }
    }

    /// A peer that refuses the MSE handshake over TCP and never answers uTP (its UDP port is bound but
    /// silent): the race ends with the MSE failure as soon as TCP is refused, not when uTP's connect
    /// gives up, and TCP is remembered for the plaintext retry.
    @Test func anMSERefusalOverTCPEndsTheRace() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RefuseOnRead()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let silent = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: port).get()
        let socket = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        // uTP would wait up to an hour: the dial may end only through the refusal.
        let transports = PeerTransports(
            tcp: true, utp: true, sockets: [socket], utpConnectTimeout: .seconds(3600),
            utpGrace: .milliseconds(50))
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: UInt16(port))
        await #expect(throws: MSEError.self) {
            _ = try await PeerDialer.connect(
                to: address, transports: transports, group: MultiThreadedEventLoopGroup.singleton,
                timeout: .seconds(3600), maxFrameLength: 1 << 20,
                encryption: .init(infoHash: Array(repeating: 7, count: 20), policy: .prefer))
        }
        #expect(transports.remembered(address) == .tcp)
        #expect(transports.order(for: address) == [.tcp, .utp])
        try await server.close()
        try await silent.close()
        await socket.close()
    }

    /// A peer on TCP alone (nothing on its UDP port): the probe beside uTP's SYN hears the port is
    /// closed, the uTP dial fails at once and TCP goes on without waiting out uTP's grace, which here
    /// is an hour, as is uTP's connect timeout: the dial can only end through the probe.
    @Test func aClosedUDPPortStartsTCPAtOnce() async throws {
        try await expectTCPWins(silentUDP: false, grace: .seconds(3600))
    }

    /// A peer whose UDP port is open but silent (it ignores uTP, as libtorrent with uTP off does): TCP
    /// is dialled at once beside uTP, not after a head start, and with no grace uTP loses as soon as
    /// TCP is up; uTP's connect timeout is an hour, so the dial can only end through TCP.
    @Test func tcpIsDialledAtOnceBesideASilentUTPPort() async throws {
        try await expectTCPWins(silentUDP: true, grace: .zero)
    }

    /// Dials a plain TCP server whose UDP port is bound and silent (`silentUDP`) or closed, with uTP's
    /// connect timeout an hour and `grace`: the connection must be TCP's, and TCP remembered.
    private func expectTCPWins(silentUDP: Bool, grace: Duration) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let silent =
            silentUDP
            ? try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port).get() : nil
        let socket = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let transports = PeerTransports(
            tcp: true, utp: true, sockets: [socket], utpConnectTimeout: .seconds(3600), utpGrace: grace)
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: UInt16(port))
        let (channel, _) = try await PeerDialer.connect(
            to: address, transports: transports, group: MultiThreadedEventLoopGroup.singleton,
            timeout: .seconds(3600), maxFrameLength: 1 << 20)
        #expect(!(channel.channel is UTPChannel))
        #expect(transports.remembered(address) == .tcp)
        try? await channel.executeThenClose { _, _ in }
        try await server.close()
        try await silent?.close()
        await socket.close()
    }

    /// uTP alone to a closed UDP port: the dial fails with ``UTPError/portUnreachable`` at once, not
    /// after its hour-long connect timeout.
    @Test func aUTPDialToAClosedPortFailsAtOnce() async throws {
        let port = try await Self.closedUDPPort()
        let socket = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let transports = PeerTransports(
            tcp: false, utp: true, sockets: [socket], utpConnectTimeout: .seconds(3600))
        await #expect(throws: UTPError.portUnreachable) {
            _ = try await PeerDialer.connect(
                to: PeerAddress(host: .ipv4(127, 0, 0, 1), port: port), transports: transports,
                group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(3600), maxFrameLength: 1 << 20)
        }
        await socket.close()
    }

    /// The probe itself: a closed port is reported closed; a port where something listens (here it
    /// echoes the empty datagram back, which also shows the datagram was sent) is not, both long
    /// before the probe's hour is up.
    @Test func theProbeTellsAClosedPortFromAnOpenOne() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let closed = try await Self.closedUDPPort()
        #expect(
            await UDPPortProbe.isClosed(
                try SocketAddress(ipAddress: "127.0.0.1", port: Int(closed)), localHost: "127.0.0.1", on: loop,
                within: .seconds(3600)))
        let echo = try await DatagramBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let open = try #require(echo.localAddress)
        #expect(!(await UDPPortProbe.isClosed(open, localHost: "127.0.0.1", on: loop, within: .seconds(3600))))
        try await echo.close()
    }

    /// A UDP port on 127.0.0.1 that nothing listens on (bound, then closed).
    static func closedUDPPort() async throws -> UInt16 {
        let bound = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(bound.localAddress?.port)
        try await bound.close()
        return UInt16(port)
    }

    /// Sends every datagram back to its sender.
    final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }

    /// uTP only against a peer that listens on uTP: the connection is a uTP channel, remembered.
    @Test func dialsOverUTPWhenThePeerAnswers() async throws {
        try await expectUTPWins(peerTCP: false) { PeerTransports(tcp: false, utp: true, sockets: $0) }
    }

    /// Dials a peer listening on uTP (and on TCP when `peerTCP`) with the transports `make` gives for a
    /// socket of its own: the connection must be a uTP channel, and uTP remembered.
    private func expectUTPWins(peerTCP: Bool, _ make: ([UTPSocket]) -> PeerTransports) async throws {
        let registry = SessionRegistry()
        let listener = try await PeerListener.bind(
            hosts: ["127.0.0.1"], port: 0, registry: registry, tcp: peerTCP, utp: true)
        Task { await listener.run() }
        #expect(listener.utpSockets.count == 1 && listener.port == listener.utpSockets[0].port)
        let socket = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let transports = make([socket])
        let address = PeerAddress(host: .ipv4(127, 0, 0, 1), port: listener.port)
        let (channel, _) = try await PeerDialer.connect(
            to: address, transports: transports, group: MultiThreadedEventLoopGroup.singleton, timeout: .seconds(5),
            maxFrameLength: 1 << 20)
        #expect(channel.channel is UTPChannel)
        #expect(transports.remembered(address) == .utp)
        try? await channel.executeThenClose { _, _ in }
        listener.close()
        await socket.close()
    }

    /// A peer that listens on both: the race is won by uTP (TCP may connect first, but uTP answers
    /// within its grace), and uTP is remembered.
    @Test func raceIsWonByUTPWhenThePeerSpeaksBoth() async throws {
        try await expectUTPWins(peerTCP: true) {
            PeerTransports(tcp: true, utp: true, sockets: $0, utpGrace: .seconds(5))
        }
    }

    /// Incoming uTP connections count against the listener's ``IncomingAdmission`` as TCP ones do:
    /// past its pending limit a SYN is answered with ST_RESET (well under the multiplexer's own 8
    /// handshakes per address).
    @Test func incomingUTPGoesThroughAdmission() async throws {
        let registry = SessionRegistry()
        let listener = try await PeerListener.bind(
            hosts: ["127.0.0.1"], port: 0, registry: registry, maxPending: 2, tcp: false, utp: true)
        Task { await listener.run() }
        let client = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let target = try SocketAddress(ipAddress: "127.0.0.1", port: Int(listener.port))
        let first = try await client.connect(to: target) { $0 }
        try await client.connect(to: target) { _ in }
        #expect(listener.admission.pending == 2)
        await #expect(throws: (any Error).self) {
            try await client.connect(to: target) { _ in }
        }
        #expect(listener.admission.pending == 2)
        // From another address, a SYN takes the place of the oldest: that connection is reset (it never
        // spoke, so it cannot be sent a FIN).
        let other = try await UTPSocket.bind(host: "127.0.0.2", port: 0)
        try await other.connect(to: target) { _ in }
        #expect(listener.admission.pending == 2 && listener.admission.displacedCount == 1)
        try await SessionExtensionTests.waitUntil("the displaced uTP connection closed") { !first.isActive }
        listener.close()
        await client.close()
        await other.close()
    }

    /// Neither transport: refused with a typed error.
    @Test func bothTransportsOffIsRefused() async throws {
        await #expect(throws: PeerTransportError.noTransportEnabled) {
            _ = try await PeerListener.bind(
                hosts: ["127.0.0.1"], port: 0, registry: SessionRegistry(), tcp: false, utp: false)
        }
        var settings = TransferSettings()
        settings.tcpEnabled = false
        settings.utpEnabled = false
        #expect(throws: PeerTransportError.noTransportEnabled) { try settings.checkTransports() }
        settings.utpEnabled = true
        try settings.checkTransports()
    }
}
