import NIOCore
import Synchronization

/// Dialling over the transports a ``PeerTransports`` allows: uTP, TCP, or a race of the two.
extension PeerDialer {
    typealias Dialled = (channel: NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>, security: PeerTransportSecurity)

    /// Connects to `address` over the transports `transports` allows, in its order. When uTP comes
    /// first and TCP is allowed too, the two race (see ``race(grace:utp:tcp:reached:)``). Otherwise
    /// each is tried in turn, the next when one fails or times out. The transport that got through is
    /// remembered. An MSE failure is no transport failure: when nothing got through it is thrown
    /// before any other error, so that the caller's encryption fallback sees it.
    ///
    /// - Throws: an ``MSEError``, the last transport's error, or ``PeerTransportError/unreachable``.
    static func connect(
        to address: PeerAddress, transports: PeerTransports, group: any EventLoopGroup, timeout: Duration,
        maxFrameLength: Int, budget: PeerMemoryBudget? = nil, encryption: Encryption? = nil
    ) async throws -> Dialled {
        let order = transports.order(for: address)
        @Sendable func utp(_ attempt: UTPAttempt?) async throws -> Dialled {
            guard let socket = transports.socket(for: address) else { throw PeerTransportError.unreachable }
            do {
                // A transport already remembered for the address says its UDP port's state.
                return try await connect(
                    to: address, over: socket, timeout: min(timeout, transports.utpConnectTimeout),
                    maxFrameLength: maxFrameLength, budget: budget, encryption: encryption, attempt: attempt,
                    probe: transports.remembered(address) == nil)
            } catch let error as UTPError where error == .portUnreachable {
                transports.rememberUDPPortClosed(address)
                throw error
            }
        }
        @Sendable func tcp() async throws -> Connecting {
            try await bootstrap(
                to: address, group: group, timeout: timeout, maxFrameLength: maxFrameLength, budget: budget,
                encryption: encryption)
        }
        if order == [.utp, .tcp] {
            let (kind, dialled) = try await race(
                grace: transports.utpGrace, utp: utp, tcp: tcp, reached: { transports.remember($0, for: address) })
            transports.remember(kind, for: address)
            return dialled
        }
        var failure: any Error = PeerTransportError.unreachable
        for kind in order {
            do {
                let dialled: Dialled
                switch kind {
                case .utp: dialled = try await utp(nil)
                case .tcp:
                    let (channel, handshake) = try await tcp()
                    dialled = try await finishHandshake(channel, handshake)
                }
                transports.remember(kind, for: address)
                return dialled
            } catch let error as MSEError {
                // The peer was reached and refused the handshake: another transport would meet the same
                // refusal, so the caller's encryption fallback is told at once, over this transport next.
                transports.remember(kind, for: address)
                throw error
            } catch {
                failure = error
            }
        }
        throw failure
    }

    /// What one side of a race ended with.
    private enum Outcome: Sendable {
        case connected(PeerTransports.Kind, Dialled)
        case failed(PeerTransports.Kind, any Error)
    }

    /// uTP and TCP dialled at once. uTP is preferred: once the peer answers uTP's SYN, uTP is settled
    /// on and TCP's connection closed. When TCP connects first, uTP still has `grace` or as long as
    /// TCP's connect took, whichever is longer, to answer (its SYN left first and a round trip is all
    /// it needs); past that, or as soon as uTP fails (a closed UDP port, see ``UDPPortProbe``), TCP is
    /// settled on and the uTP attempt called off. A peer that does not speak uTP thus costs about a
    /// round trip more than TCP alone, not a fixed head start (250 ms before: a 1 GiB download from a
    /// local TCP-only seed took 0.26 s longer). The settled side's connection (MSE handshake
    /// included) is the result; one that reached the peer but whose MSE handshake the peer refused
    /// ends the race with that refusal, and `reached` is told over which transport.
    private static func race(
        grace: Duration, utp: @escaping @Sendable (UTPAttempt?) async throws -> Dialled,
        tcp: @escaping @Sendable () async throws -> Connecting,
        reached: @Sendable (PeerTransports.Kind) -> Void
    ) async throws -> (PeerTransports.Kind, Dialled) {
        let choice = RaceChoice()
        // A value when the peer answered uTP's SYN first; finished when the uTP attempt failed.
        let (utpEnded, utpEndedContinuation) = AsyncStream.makeStream(of: Bool.self)
        let utpAttempt = UTPAttempt {
            if choice.settle(.utp) { utpEndedContinuation.yield(true) }
        }
        defer { utpEndedContinuation.finish() }
        let result: Result<(PeerTransports.Kind, Dialled), any Error> = await withTaskGroup(of: Outcome.self) {
            group in
            group.addTask {
                do {
                    let dialled = try await withTaskCancellationHandler {
                        try await utp(utpAttempt)
                    } onCancel: {
                        utpAttempt.cancel()
                    }
                    return .connected(.utp, dialled)
                } catch {
                    utpEndedContinuation.finish()
                    return .failed(.utp, error)
                }
            }
            group.addTask {
                let started = ContinuousClock.now
                let connecting: Connecting
                do {
                    connecting = try await tcp()
                } catch {
                    return .failed(.tcp, error)
                }
                if choice.chosen == nil {
                    let wait = max(grace, ContinuousClock.now - started)
                    await withTaskGroup(of: Void.self) { waiting in
                        waiting.addTask { try? await Task.sleep(for: wait) }
                        waiting.addTask { _ = await utpEnded.first { _ in true } }
                        await waiting.next()
                        waiting.cancelAll()
                    }
                }
                guard !Task.isCancelled, choice.settle(.tcp) else {
                    try? await connecting.channel.executeThenClose { _, _ in }
                    return .failed(.tcp, CancellationError())
                }
                utpAttempt.cancel()
                do {
                    return .connected(.tcp, try await finishHandshake(connecting.channel, connecting.handshake))
                } catch {
                    return .failed(.tcp, error)
                }
            }
            var winner: (PeerTransports.Kind, Dialled)?
            var failure: any Error = PeerTransportError.unreachable
            var mseFailure: (any Error)?
            for await outcome in group {
                switch outcome {
                case .connected(let kind, let dialled):
                    if winner == nil, choice.chosen == kind {
                        winner = (kind, dialled)
                        group.cancelAll()
                    } else {
                        // Not the one settled on: closed through its async channel.
                        try? await dialled.channel.executeThenClose { _, _ in }
                    }
                case .failed(let kind, let error):
                    if error is MSEError {
                        if mseFailure == nil, winner == nil {
                            reached(kind)
                            group.cancelAll()
                        }
                        mseFailure = mseFailure ?? error
                    } else if !(error is CancellationError) {
                        failure = error
                    }
                }
            }
            if let winner { return .success(winner) }
            return .failure(mseFailure ?? failure)
        }
        return try result.get()
    }

    /// Connects to `address` over uTP from `socket` (the peer must answer the SYN within `timeout`),
    /// with the same pipeline as over TCP (MSE first when `encryption`, then the codec and batcher).
    /// `attempt` closes the channel when cancelled. With `probe`, a ``UDPPortProbe`` runs beside the
    /// SYN, and the dial fails at once when the peer's host says its UDP port is closed (a race's
    /// TCP then goes on without waiting out uTP's grace).
    ///
    /// - Throws: a ``UTPError`` or channel error when the peer does not answer, or an ``MSEError``.
    static func connect(
        to address: PeerAddress, over socket: UTPSocket, timeout: Duration, maxFrameLength: Int,
        budget: PeerMemoryBudget?, encryption: Encryption?, attempt: UTPAttempt? = nil, probe: Bool = false
    ) async throws -> Dialled {
        guard let host = address.numericHost else { throw PeerTransportError.unreachable }
        let remote = try SocketAddress(ipAddress: host, port: Int(address.port))
        let attempt = attempt ?? UTPAttempt()
        let prober: Task<Void, Never>? =
            probe
            ? Task { [channel = socket.channel] in
                if await UDPPortProbe.isClosed(
                    remote, localHost: channel.localAddress?.ipAddress, on: channel.eventLoop, within: timeout)
                {
                    attempt.portUnreachable()
                }
            } : nil
        defer { prober?.cancel() }
        let (channel, handshake) = try await socket.connect(to: remote) { channel in
            let connecting = try addPeerWire(
                to: channel, maxFrameLength: maxFrameLength, budget: budget, encryption: encryption)
            // A peer that does not answer the SYN in time: the channel closes, which fails the connect.
            let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                if !channel.isActive { channel.close(promise: nil) }
            }
            channel.closeFuture.whenComplete { _ in deadline.cancel() }
            attempt.started(channel)
            return connecting
        }
        prober?.cancel()
        attempt.answered()
        return try await finishHandshake(channel, handshake)
    }
}

/// Which side of a race goes on: the first to settle keeps it.
private final class RaceChoice: Sendable {
    private let state = Mutex<PeerTransports.Kind?>(nil)

    /// The side settled on, if any yet.
    var chosen: PeerTransports.Kind? { state.withLock { $0 } }

    /// Settles on `kind` unless the other side was settled on first; whether `kind` is the one.
    func settle(_ kind: PeerTransports.Kind) -> Bool {
        state.withLock { chosen in
            if chosen == nil { chosen = kind }
            return chosen == kind
        }
    }
}

/// One uTP dial (of a race): its channel once made, closed when the race is called off, failed when
/// the peer's UDP port turns out closed.
final class UTPAttempt: Sendable {
    private let state = Mutex<(channel: (any Channel)?, cancelled: Bool, unreachable: Bool)>((nil, false, false))
    private let onAnswer: @Sendable () -> Void

    /// An attempt that calls `onAnswer` when the peer answers its SYN.
    init(onAnswer: @escaping @Sendable () -> Void = {}) {
        self.onAnswer = onAnswer
    }

    /// The peer answered the SYN: the uTP connection is up (an MSE handshake may follow).
    func answered() { onAnswer() }

    /// The dial made `channel` (closed at once if the race was called off before).
    func started(_ channel: any Channel) {
        let (cancelled, unreachable) = state.withLock { state in
            state.channel = channel
            return (state.cancelled, state.unreachable)
        }
        if cancelled { channel.close(promise: nil) }
        if unreachable { Self.failUnreachable(channel) }
    }

    /// The peer's UDP port is closed: a dial not yet answered fails with ``UTPError/portUnreachable``
    /// (at once, or when its channel is made).
    func portUnreachable() {
        let channel = state.withLock { state in
            state.unreachable = true
            return state.channel
        }
        if let channel { Self.failUnreachable(channel) }
    }

    private static func failUnreachable(_ channel: any Channel) {
        channel.eventLoop.execute { (channel as? UTPChannel)?.portUnreachable() }
    }

    /// The race is called off: the channel closes (failing the dial if it is still under way).
    func cancel() {
        let channel = state.withLock { state in
            state.cancelled = true
            return state.channel
        }
        channel?.close(promise: nil)
    }
}
