import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether nothing listens on a peer's UDP port, asked the kernel's way: one empty datagram from a
/// connected UDP socket of its own, and the ICMP "port unreachable" the peer's host answers with
/// when the port is closed, which the kernel reports on a connected socket as `ECONNREFUSED`.
///
/// A uTP dial to a peer that does not speak uTP otherwise waits for its SYN to time out: a peer
/// found in a tracker's list or by the DHT says nothing of its transports, and most peers on TCP
/// alone listen on no UDP port. The probe runs beside the SYN (the shared listen socket cannot be
/// asked: an unconnected UDP socket hears of ICMP errors only with `IP_RECVERR`, whose error queue
/// NIO's datagram channel does not read). An empty datagram is ignored by uTP and DHT stacks alike
/// (both want at least a header), so a peer that does listen sees nothing. No answer says nothing:
/// many hosts filter UDP or rate-limit ICMP, and there the SYN's own timeout still applies.
enum UDPPortProbe {
    /// Sends one empty datagram to `remote` from `localHost` (any port) and waits up to `within`:
    /// true when the kernel reported the port unreachable, false when nothing came, the probe could
    /// not be sent, or the task was cancelled.
    static func isClosed(
        _ remote: SocketAddress, localHost: String?, on loop: any EventLoop, within: Duration
    ) async -> Bool {
        let promise = loop.makePromise(of: Bool.self)
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ProbeHandler(promise))
                    }
                }
                .bind(host: localHost ?? (remote.protocol == .inet6 ? "::" : "0.0.0.0"), port: 0).get()
        } catch {
            promise.succeed(false)
            return false
        }
        let deadline = loop.scheduleTask(in: TimeAmount(within)) { promise.succeed(false) }
        channel.connect(to: remote).flatMap { channel.writeAndFlush(ByteBuffer()) }.whenFailure { error in
            promise.succeed(ProbeHandler.saysUnreachable(error))
        }
        let closed = await withTaskCancellationHandler {
            (try? await promise.futureResult.get()) ?? false
        } onCancel: {
            loop.execute { promise.succeed(false) }
        }
        deadline.cancel()
        try? await channel.close()
        return closed
    }
}

/// Completes the probe's promise: true on `ECONNREFUSED`, false on any datagram (something listens).
/// Later completions of the promise are ignored (NIO keeps the first).
private final class ProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<Bool>

    init(_ promise: EventLoopPromise<Bool>) { self.promise = promise }

    static func saysUnreachable(_ error: any Error) -> Bool {
        (error as? IOError)?.errnoCode == ECONNREFUSED
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        promise.succeed(false)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if Self.saysUnreachable(error) { promise.succeed(true) }
    }
}
