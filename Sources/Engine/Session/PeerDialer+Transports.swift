import NIOCore
import Synchronization

/// Dialling over the transports a ``PeerTransports`` allows: uTP, TCP, or a race of the two.
extension PeerDialer {
    typealias Dialled = (channel: NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>, security: PeerTransportSecurity)

    /// Connects to `address` over the transports `transports` allows, in its order. When uTP comes
    /// first and TCP is allowed too, the two race: uTP starts at once, TCP after
    /// ``PeerTransports/utpHeadStart`` unless the peer answered over uTP by then, and the first
    /// connection (MSE handshake included) wins; the other is closed. Otherwise each is tried in turn, the next when
    /// one fails or times out. The transport that got through is remembered. An MSE failure is no
    /// transport failure: when nothing got through it is thrown before any other error, so that the
    /// caller's encryption fallback sees it.
    ///
    /// - Throws: an ``MSEError``, the last transport's error, or ``PeerTransportError/unreachable``.
    static func connect(
        to address: PeerAddress, transports: PeerTransports, group: any EventLoopGroup, timeout: Duration,
        maxFrameLength: Int, budget: PeerMemoryBudget? = nil, encryption: Encryption? = nil
    ) async throws -> Dialled {
        let order = transports.order(for: address)
        @Sendable func attempt(_ kind: PeerTransports.Kind, attempt: UTPAttempt? = nil) async throws -> Dialled {
            switch kind {
            case .tcp:
                return try await connect(
                    to: address, group: group, timeout: timeout, maxFrameLength: maxFrameLength, budget: budget,
                    encryption: encryption)
            case .utp:
                guard let socket = transports.socket(for: address) else { throw PeerTransportError.unreachable }
                // A transport already remembered for the address says its UDP port's state.
                return try await connect(
                    to: address, over: socket, timeout: min(timeout, transports.utpConnectTimeout),
                    maxFrameLength: maxFrameLength, budget: budget, encryption: encryption, attempt: attempt,
                    probe: transports.remembered(address) == nil)
            }
        }
        if order == [.utp, .tcp] {
            let (kind, dialled) = try await race(
                headStart: transports.utpHeadStart, utp: attempt, tcp: attempt,
                reached: { transports.remember($0, for: address) })
            transports.remember(kind, for: address)
            return dialled
        }
        var failure: any Error = PeerTransportError.unreachable
        for kind in order {
            do {
                let dialled = try await attempt(kind)
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

    /// uTP at once, TCP after `headStart` (at once when uTP failed before): the first connected wins,
    /// a later one is closed, and a uTP attempt still running is closed when TCP won. A side that
    /// reached the peer but whose MSE handshake the peer refused ends the race at once (the other
    /// would meet the same refusal, or never answer: a plaintext-only peer that does not speak uTP
    /// must not cost uTP's whole connect timeout), and `reached` is told over which transport.
    private static func race(
        headStart: Duration, utp: @escaping @Sendable (PeerTransports.Kind, UTPAttempt?) async throws -> Dialled,
        tcp: @escaping @Sendable (PeerTransports.Kind, UTPAttempt?) async throws -> Dialled,
        reached: @Sendable (PeerTransports.Kind) -> Void
    ) async throws -> (PeerTransports.Kind, Dialled) {
        // Finished when the uTP attempt failed (TCP need not wait out the head start then), with a value
        // first when the peer answered uTP's SYN (TCP is then not dialled at all: the peer speaks uTP,
        // and only the MSE handshake over it is still under way).
        let (utpEnded, utpEndedContinuation) = AsyncStream.makeStream(of: Bool.self)
        let utpAttempt = UTPAttempt { utpEndedContinuation.yield(true) }
        defer { utpEndedContinuation.finish() }
        let result: Result<(PeerTransports.Kind, Dialled), any Error> = await withTaskGroup(of: Outcome.self) {
            group in
            group.addTask {
                do {
                    let dialled = try await withTaskCancellationHandler {
                        try await utp(.utp, utpAttempt)
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
                // Waits out uTP's head start, or less when the uTP attempt fails sooner; not at all
                // once the peer has answered over uTP.
                let answered = await withTaskGroup(of: Bool.self) { wait in
                    wait.addTask {
                        try? await Task.sleep(for: headStart)
                        return false
                    }
                    wait.addTask { await utpEnded.first { _ in true } ?? false }
                    let answered = await wait.next() ?? false
                    wait.cancelAll()
                    return answered
                }
                guard !answered, !Task.isCancelled else { return .failed(.tcp, CancellationError()) }
                do {
                    return .connected(.tcp, try await tcp(.tcp, nil))
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
                    if winner == nil {
                        winner = (kind, dialled)
                        group.cancelAll()
                    } else {
                        // Both got through: the later one is closed through its async channel.
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
    /// TCP then starts without waiting out uTP's head start).
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
            let sync = channel.pipeline.syncOperations
            let handshake = try encryption.map {
                try sync.addMSEInitiator(infoHash: $0.infoHash, policy: $0.policy, timeout: $0.timeout)
            }
            try sync.addPeerWireCodec(maxFrameLength: maxFrameLength, budget: budget)
            try sync.addHandler(PeerFrameBatcher())
            let wrapped = try NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>(
                wrappingChannelSynchronously: channel, configuration: channelConfiguration)
            // A peer that does not answer the SYN in time: the channel closes, which fails the connect.
            let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                if !channel.isActive { channel.close(promise: nil) }
            }
            channel.closeFuture.whenComplete { _ in deadline.cancel() }
            attempt.started(channel)
            return (wrapped, handshake)
        }
        prober?.cancel()
        attempt.answered()
        return try await finishHandshake(channel, handshake)
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
