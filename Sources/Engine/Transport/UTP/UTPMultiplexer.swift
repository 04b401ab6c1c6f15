import NIOCore

/// Every uTP connection on one UDP socket: finds a datagram's connection by (address, connection
/// id), answers SYNs (within limits) by handing a new ``UTPChannel`` to its acceptor, opens
/// outgoing connections, and runs one timer for them all (only while there are any).
///
/// `@unchecked Sendable`: all mutable state is touched on `eventLoop` only (the UDP channel's
/// loop); ``connect(to:initializer:)`` hops there.
final class UTPMultiplexer: @unchecked Sendable {
    /// The limits on connections.
    struct Limits: Sendable {
        /// Most uTP connections at once (incoming and outgoing, including closing ones).
        var maxConnections = 1024
        /// Most connections from one IP address still in their handshake; more SYNs are refused.
        var maxHandshakesPerAddress = 8
        /// How often the connections' timers are looked at.
        var tick: TimeAmount = .milliseconds(20)
    }

    struct Key: Hashable {
        let address: SocketAddress
        let id: UInt16

        /// The id first: it tells two connections apart sooner than the address does.
        static func == (lhs: Key, rhs: Key) -> Bool { lhs.id == rhs.id && lhs.address == rhs.address }
    }

    let eventLoop: any EventLoop
    let limits: Limits
    let configuration: UTPConfiguration
    private var socket: (any Channel)?
    private var connections: [Key: UTPChannel] = [:]
    /// The connection the last datagram went to: a read's datagrams mostly come from one peer, and
    /// comparing its key is cheaper than hashing an address per datagram.
    private var recent: (key: Key, channel: UTPChannel)?
    private var dirty: [UTPChannel] = []
    private var timer: RepeatedTask?
    /// Given each accepted channel, sets up its pipeline and hands it on; false refuses it.
    private var acceptor: ((UTPChannel) -> Bool)?
    private var random = SystemRandomNumberGenerator()
    /// Refused SYNs and datagrams for no connection, for the log and tests.
    private(set) var refused = 0
    /// Whether runs of equal datagrams to a loopback peer go out as one GSO write (``UTPOffload``);
    /// off for good once the kernel refused one.
    private(set) var segmentation: Bool
    /// GSO writes the kernel refused (their datagrams were sent again one by one).
    private(set) var segmentationFailures = 0
    /// Reads the kernel had joined from several datagrams (receive offload), for tests.
    var joinedReads = 0
    /// The largest datagram the socket reads (a read slot), told loopback peers in the handshake so
    /// that they may send packets that large; nil tells no one.
    let readLimit: UInt16?

    /// `readLimit`: the largest datagram the socket reads, if it should be told loopback peers.
    init(
        eventLoop: any EventLoop, limits: Limits = .init(), configuration: UTPConfiguration = .init(),
        segmentation: Bool = System.supportsUDPSegmentationOffload, readLimit: Int? = nil
    ) {
        self.eventLoop = eventLoop
        self.limits = limits
        self.configuration = configuration
        self.readLimit = readLimit.map { UInt16(clamping: $0) }
        self.segmentation = segmentation && configuration.udpOffload
    }

    /// The microsecond clock the connections run on.
    func now() -> UInt64 { UInt64(NIODeadline.now().uptimeNanoseconds / 1000) }

    /// How many connections are kept (including ones closing).
    var count: Int { connections.count }

    /// Starts using `socket` (a datagram channel whose pipeline has a ``UTPDatagramHandler`` for us)
    /// and the timer. On the event loop.
    func attach(_ socket: any Channel, acceptor: ((UTPChannel) -> Bool)?) {
        eventLoop.preconditionInEventLoop()
        self.socket = socket
        self.acceptor = acceptor
    }

    /// Whether the timer runs (for tests). On the event loop.
    var timerRuns: Bool { timer != nil }

    /// The timer runs while there are connections (started with the first, stopped by the tick that
    /// finds none), so an idle socket wakes nothing. On the event loop.
    private func startTimer() {
        guard timer == nil, socket != nil else { return }
        timer = eventLoop.scheduleRepeatedTask(initialDelay: limits.tick, delay: limits.tick) { [weak self] _ in
            self?.tick()
        }
    }

    /// Sets who is handed incoming connections. On the event loop.
    func setAcceptor(_ acceptor: ((UTPChannel) -> Bool)?) {
        eventLoop.preconditionInEventLoop()
        self.acceptor = acceptor
    }

    /// Stops the timer and closes every connection. On the event loop.
    func shutdown() {
        eventLoop.preconditionInEventLoop()
        timer?.cancel()
        timer = nil
        for channel in connections.values {
            channel.connection.abort(now: now())
            service(channel)
            channel.ended(.resetByPeer)
        }
        connections.removeAll()
        recent = nil
        socket = nil
    }

    /// Opens a connection to `address`; `initializer` sets up the channel's pipeline (on the loop)
    /// before the SYN goes out, and what it returns is the result once the peer answered the SYN.
    func connect<Result: Sendable>(
        to address: SocketAddress, initializer: @escaping @Sendable (any Channel) throws -> Result
    ) -> EventLoopFuture<Result> {
        eventLoop.flatSubmit {
            guard self.socket != nil, self.connections.count < self.limits.maxConnections else {
                return self.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
            }
            var id = UInt16.random(in: 0...UInt16.max, using: &self.random)
            while self.connections[Key(address: address, id: id)] != nil
                || self.connections[Key(address: address, id: id &+ 1)] != nil
            {
                id = id &+ 2
            }
            let connection = UTPConnection(
                connectingWith: id, sequence: .random(in: 0...UInt16.max, using: &self.random), now: self.now(),
                configuration: self.configuration, readLimit: self.readLimit(for: address))
            let channel = UTPChannel(
                multiplexer: self, connection: connection, remote: address, local: self.socket?.localAddress,
                eventLoop: self.eventLoop)
            let promise = self.eventLoop.makePromise(of: Void.self)
            channel.connectPromise = promise
            let result: Result
            do {
                result = try initializer(channel)
            } catch {
                return self.eventLoop.makeFailedFuture(error)
            }
            self.connections[Key(address: address, id: id)] = channel
            self.startTimer()
            self.service(channel)
            return promise.futureResult.map { result }
        }
    }

    /// One datagram that looked like uTP. On the event loop.
    /// Takes one datagram; `now` is the read's time (one clock reading for all the datagrams of a read).
    func received(_ datagram: ByteBuffer, from address: SocketAddress, now: UInt64) {
        guard let packet = try? UTPPacket(decoding: datagram) else {
            refused += 1
            return
        }
        let key = Key(address: address, id: packet.connectionID)
        if let recent, recent.key == key {
            recent.channel.connection.receive(packet, now: now)
            markDirty(recent.channel)
            return
        }
        if let channel = connections[key] {
            recent = (key, channel)
            channel.connection.receive(packet, now: now)
            markDirty(channel)
            return
        }
        guard packet.type == .syn else {
            refused += 1
            if packet.type != .reset { sendReset(to: address, for: packet) }
            return
        }
        // A SYN: a new connection unless one with the id it would use exists (a repeated SYN is
        // found under its receive id, connectionID + 1).
        let acceptedKey = Key(address: address, id: packet.connectionID &+ 1)
        if let channel = connections[acceptedKey] {
            channel.connection.receive(packet, now: now)
            markDirty(channel)
            return
        }
        guard let acceptor, connections.count < limits.maxConnections,
            handshakes(from: address) < limits.maxHandshakesPerAddress
        else {
            refused += 1
            sendReset(to: address, for: packet)
            return
        }
        let connection = UTPConnection(
            accepting: packet, sequence: .random(in: 0...UInt16.max, using: &random), now: now,
            configuration: configuration, readLimit: readLimit(for: address))
        let channel = UTPChannel(
            multiplexer: self, connection: connection, remote: address, local: socket?.localAddress,
            eventLoop: eventLoop)
        guard acceptor(channel) else {
            refused += 1
            sendReset(to: address, for: packet)
            return
        }
        connections[acceptedKey] = channel
        startTimer()
        channel.activate()
        markDirty(channel)
    }

    /// What a connection to `address` tells the peer it reads: loopback peers only (other paths keep
    /// ``UTPConfiguration/maxPayload`` both ways, so there is nothing to tell them).
    private func readLimit(for address: SocketAddress) -> UInt16? {
        UTPOffload.isLoopback(address) ? readLimit : nil
    }

    /// Acks and data go out once per batch of datagrams read, not once per datagram.
    private func markDirty(_ channel: UTPChannel) {
        guard !channel.dirty else { return }
        channel.dirty = true
        dirty.append(channel)
    }

    /// `channel`'s connection owes its peer a packet outside the socket's reads (its reader took bytes
    /// and the receive window reopened): it is serviced once the loop is done with what it is doing,
    /// with the connections of the read batch if one is under way. On the loop.
    func serviceSoon(_ channel: UTPChannel) {
        guard !channel.dirty else { return }
        markDirty(channel)
        eventLoop.execute { [weak self] in self?.readComplete() }
    }

    /// The socket's read batch ended: every connection that received something answers. On the loop.
    func readComplete() {
        while !dirty.isEmpty {
            let batch = dirty
            dirty.removeAll(keepingCapacity: true)
            for channel in batch {
                channel.dirty = false
                // Room in the send buffer after acks: queued writes move in, and all is sent.
                channel.pump()
            }
        }
    }

    private func handshakes(from address: SocketAddress) -> Int {
        var count = 0
        for (key, channel) in connections
        where channel.connection.state == .synReceived && key.address.ipAddress == address.ipAddress {
            count += 1
        }
        return count
    }

    private func sendReset(to address: SocketAddress, for packet: UTPPacket) {
        guard let socket else { return }
        let reset = UTPPacket(
            type: .reset, connectionID: packet.connectionID,
            timestamp: UInt32(truncatingIfNeeded: now()), sequenceNumber: 0, ackNumber: packet.sequenceNumber)
        socket.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: reset.encoded()), promise: nil)
    }

    /// Sends what `channel`'s connection produced, passes its bytes up and acts on its events;
    /// forgets the connection once it is over. On the event loop.
    func service(_ channel: UTPChannel) {
        let output = channel.connection.takeOutput(now: now())
        if let socket, let address = channel.remoteAddress, !output.datagrams.isEmpty {
            send(output.datagrams, to: address, on: socket)
        }
        if !output.delivered.isEmpty { channel.received(output.delivered) }
        for event in output.events {
            switch event {
            case .connected:
                if let promise = channel.connectPromise {
                    channel.connectPromise = nil
                    channel.activate()
                    promise.succeed()
                }
            case .peerFinished:
                channel.ended(nil)
            case .closed:
                channel.ended(nil)
            case .failed(let error):
                channel.ended(error)
            }
        }
        if channel.connection.isClosed, let address = channel.remoteAddress {
            let key = Key(address: address, id: channel.connection.receiveID)
            if connections[key] === channel { connections[key] = nil }
            if recent?.channel === channel { recent = nil }
        }
    }

    /// Writes `datagrams` and flushes (NIO sends what is flushed together with one sendmmsg). To a
    /// loopback peer, runs of equal datagrams go as GSO writes; a refused one turns GSO off for the
    /// socket and its datagrams go again one by one.
    private func send(_ datagrams: UTPDatagrams, to address: SocketAddress, on socket: any Channel) {
        guard segmentation, datagrams.count > 1, UTPOffload.isLoopback(address) else {
            for datagram in datagrams {
                socket.write(AddressedEnvelope(remoteAddress: address, data: datagram), promise: nil)
            }
            socket.flush()
            return
        }
        for envelope in UTPOffload.segmentedWrites(datagrams, to: address) {
            guard envelope.metadata?.segmentSize != nil else {
                socket.write(envelope, promise: nil)
                continue
            }
            let promise = eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenFailure { [weak self] _ in self?.segmentationFailed(envelope) }
            socket.write(envelope, promise: promise)
        }
        socket.flush()
    }

    /// The kernel refused a GSO write. NIO fails just that write for EMSGSIZE (and where GSO is
    /// missing); other errors close the channel, after which nothing is sent anyway. On the loop.
    private func segmentationFailed(_ envelope: AddressedEnvelope<ByteBuffer>) {
        segmentationFailures += 1
        segmentation = false
        guard let socket, socket.isActive else { return }
        UTPOffload.forEachDatagram(in: envelope.data, segmentSize: envelope.metadata?.segmentSize) {
            socket.write(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: $0), promise: nil)
        }
        socket.flush()
    }

    private func tick() {
        guard !connections.isEmpty else {
            timer?.cancel()
            timer = nil
            return
        }
        let now = now()
        for channel in Array(connections.values) {
            guard let deadline = channel.connection.deadline, deadline <= now else { continue }
            channel.connection.tick(now: now)
            // The send buffer may have room again after acks: the channel moves queued writes in.
            channel.pump()
        }
    }
}

/// First in a shared UDP socket's pipeline: cuts a read the kernel joined (receive offload) into its
/// datagrams, hands those that look like uTP to the multiplexer and passes the rest (the DHT's, which
/// start with `d`) on, one datagram each.
final class UTPDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = AddressedEnvelope<ByteBuffer>

    private let multiplexer: UTPMultiplexer

    init(_ multiplexer: UTPMultiplexer) { self.multiplexer = multiplexer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let now = multiplexer.now()
        guard let segmentSize = envelope.metadata?.segmentSize, segmentSize > 0,
            segmentSize < envelope.data.readableBytes
        else {
            if !takeUTP(envelope.data, from: envelope.remoteAddress, now: now) { context.fireChannelRead(data) }
            return
        }
        multiplexer.joinedReads += 1
        UTPOffload.forEachDatagram(in: envelope.data, segmentSize: segmentSize) { datagram in
            if !takeUTP(datagram, from: envelope.remoteAddress, now: now) {
                context.fireChannelRead(
                    wrapInboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: datagram)))
            }
        }
    }

    /// Hands `datagram` to the multiplexer if it looks like uTP.
    private func takeUTP(_ datagram: ByteBuffer, from address: SocketAddress, now: UInt64) -> Bool {
        guard let first = datagram.getInteger(at: datagram.readerIndex, as: UInt8.self),
            UTPPacket.looksLikeUTP(firstByte: first)
        else { return false }
        multiplexer.received(datagram, from: address, now: now)
        return true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        multiplexer.readComplete()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors (port unreachable) surface here; the connection times out on its own.
        context.fireErrorCaught(error)
    }
}
