import NIOCore

/// A NIO `Channel` over one uTP connection: `ByteBuffer`s in and out, so the MSE handler and the
/// peer wire codec sit on it as on a TCP socket. It has no socket of its own; its
/// ``UTPMultiplexer`` owns the connection values and the shared UDP socket and feeds it.
///
/// Flow control both ways: writes wait (and the channel turns unwritable) while the connection's
/// send buffer is full; received bytes wait here until the pipeline asks to read, and only bytes
/// passed up reopen the receive window the peer sees.
///
/// `@unchecked Sendable`: every mutable property is touched on `eventLoop` only (the multiplexer's
/// loop); the `Channel` methods NIO calls from elsewhere hop there through the pipeline.
final class UTPChannel: Channel, ChannelCore, @unchecked Sendable {
    let eventLoop: any EventLoop
    let allocator = ByteBufferAllocator()
    let remoteAddress: SocketAddress?
    let localAddress: SocketAddress?
    let parent: (any Channel)? = nil
    private let closePromise: EventLoopPromise<Void>
    private var _pipeline: ChannelPipeline!
    private unowned let multiplexer: UTPMultiplexer

    /// The connection; the multiplexer drives it.
    var connection: UTPConnection
    private(set) var open = true
    private var active = false
    private var unflushed: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var pendingWrites = CircularBuffer<(ByteBuffer, EventLoopPromise<Void>?)>()
    private var pendingBytes = 0
    private var finAfterWrites = false
    private var inbound = CircularBuffer<ByteBuffer>()
    private var readPending = false
    private var writable = true
    /// Whether the multiplexer has it in its batch to answer.
    var dirty = false
    /// Completed when an outgoing connection's handshake finishes.
    var connectPromise: EventLoopPromise<Void>?

    /// Bytes queued above the connection's send buffer before the channel turns unwritable.
    static let writeHighWatermark = 256 << 10

    init(
        multiplexer: UTPMultiplexer, connection: UTPConnection, remote: SocketAddress, local: SocketAddress?,
        eventLoop: any EventLoop
    ) {
        self.multiplexer = multiplexer
        self.connection = connection
        self.remoteAddress = remote
        self.localAddress = local
        self.eventLoop = eventLoop
        self.closePromise = eventLoop.makePromise()
        self._pipeline = ChannelPipeline(channel: self)
    }

    var closeFuture: EventLoopFuture<Void> { closePromise.futureResult }
    var pipeline: ChannelPipeline { _pipeline }
    var _channelCore: any ChannelCore { self }
    var isWritable: Bool { writable }
    var isActive: Bool { active }

    func setOption<Option: ChannelOption>(_ option: Option, value: Option.Value) -> EventLoopFuture<Void> {
        eventLoop.makeSucceededVoidFuture()
    }

    func getOption<Option: ChannelOption>(_ option: Option) -> EventLoopFuture<Option.Value> {
        if option is ChannelOptions.Types.AutoReadOption, let value = true as? Option.Value {
            return eventLoop.makeSucceededFuture(value)
        }
        return eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
    }

    // MARK: ChannelCore

    func localAddress0() throws -> SocketAddress {
        guard let localAddress else { throw ChannelError.unknownLocalAddress }
        return localAddress
    }

    func remoteAddress0() throws -> SocketAddress {
        guard let remoteAddress else { throw ChannelError.unknownLocalAddress }
        return remoteAddress
    }

    func register0(promise: EventLoopPromise<Void>?) { promise?.succeed() }
    func registerAlreadyConfigured0(promise: EventLoopPromise<Void>?) { promise?.succeed() }
    func bind0(to: SocketAddress, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }
    func connect0(to: SocketAddress, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func write0(_ data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard open, !finAfterWrites else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        unflushed.append((unwrapData(data, as: ByteBuffer.self), promise))
    }

    func flush0() {
        for (buffer, promise) in unflushed {
            pendingBytes += buffer.readableBytes
            pendingWrites.append((buffer, promise))
        }
        unflushed.removeAll(keepingCapacity: true)
        pump()
    }

    /// Moves queued writes into the connection's send buffer as far as it has room, and has the
    /// multiplexer send what that produced.
    func pump() {
        let now = multiplexer.now()
        while let (first, promise) = pendingWrites.first {
            var buffer = first
            let taken = connection.write(&buffer, now: now)
            pendingBytes -= taken
            if buffer.readableBytes > 0 {
                pendingWrites[pendingWrites.startIndex] = (buffer, promise)
                break
            }
            pendingWrites.removeFirst()
            promise?.succeed()
        }
        if finAfterWrites, pendingWrites.isEmpty { connection.close(now: now) }
        multiplexer.service(self)
        let nowWritable = pendingBytes < Self.writeHighWatermark
        if nowWritable != writable {
            writable = nowWritable
            if open { pipeline.fireChannelWritabilityChanged() }
        }
    }

    func read0() {
        readPending = true
        deliver()
    }

    /// The most bytes of one buffer handed upstream (``received(_:)``).
    static let deliveryChunk = 32 << 10

    /// Bytes delivered in order. They are copied into buffers of their own: each payload is a slice of
    /// the socket's read buffer (1 MiB with receive offload, shared by every datagram of a read), which a
    /// slice kept upstream (a decoder's partial frame, bytes waiting for a reader that does not read)
    /// would pin whole, per connection and per read.
    ///
    /// The copies go into buffers of at most ``deliveryChunk`` bytes. One buffer per read, up to a
    /// megabyte, was each time fresh memory the kernel faulted in and cleared (glibc gives a large block
    /// back when it is freed); blocks this small stay in the allocator's bins and are reused warm.
    func received(_ buffers: [ByteBuffer]) {
        var remaining = buffers.reduce(0) { $0 + $1.readableBytes }
        guard remaining > 0 else { return }
        var chunk = allocator.buffer(capacity: min(remaining, Self.deliveryChunk))
        for var buffer in buffers {
            while buffer.readableBytes > 0 {
                if chunk.readableBytes == Self.deliveryChunk {
                    remaining -= chunk.readableBytes
                    inbound.append(chunk)
                    chunk = allocator.buffer(capacity: min(remaining, Self.deliveryChunk))
                }
                var part = buffer.readSlice(
                    length: min(buffer.readableBytes, Self.deliveryChunk - chunk.readableBytes))!
                chunk.writeBuffer(&part)
            }
        }
        inbound.append(chunk)
        deliver()
    }

    private func deliver() {
        guard open, active, readPending, !inbound.isEmpty else { return }
        readPending = false
        var count = 0
        while let buffer = inbound.popFirst() {
            count += buffer.readableBytes
            pipeline.fireChannelRead(buffer)
        }
        // A reopened window is announced at once: called from a read, nothing else may come to send
        // it (the peer waits for it), and the update waited for a keep-alive up to 29 s later.
        if connection.consumed(count) { multiplexer.serviceSoon(self) }
        pipeline.fireChannelReadComplete()
        if open { pipeline.read() }
    }

    /// The handshake finished (outgoing) or the channel was handed to its owner (incoming).
    func activate() {
        guard open, !active else { return }
        active = true
        pipeline.fireChannelActive()
        pipeline.read()
    }

    /// The peer's UDP port is closed (``UDPPortProbe``): a dial still waiting for the SYN's answer
    /// fails with ``UTPError/portUnreachable``; a connection that is up is left alone.
    func portUnreachable() {
        guard connectPromise != nil else { return }
        ended(.portUnreachable)
    }

    /// The connection ended (or the peer finished sending): the channel closes.
    func ended(_ error: UTPError?) {
        if let promise = connectPromise {
            connectPromise = nil
            promise.fail(error ?? UTPError.resetByPeer)
        }
        guard open else { return }
        if let error, active { pipeline.fireErrorCaught(error) }
        close0(error: error ?? ChannelError.eof, mode: .all, promise: nil)
    }

    func close0(error: any Error, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard open else {
            promise?.fail(ChannelError.alreadyClosed)
            return
        }
        if mode == .output {
            finAfterWrites = true
            promise?.succeed()
            pump()
            return
        }
        if mode == .input {
            promise?.succeed()
            return
        }
        open = false
        let wasActive = active
        active = false
        for (_, promise) in unflushed { promise?.fail(ChannelError.ioOnClosedChannel) }
        unflushed.removeAll()
        while let (_, promise) = pendingWrites.popFirst() { promise?.fail(ChannelError.ioOnClosedChannel) }
        pendingBytes = 0
        inbound.removeAll()
        connection.close(now: multiplexer.now())
        multiplexer.service(self)
        if let connectPromise {
            self.connectPromise = nil
            connectPromise.fail(error)
        }
        promise?.succeed()
        if wasActive { pipeline.fireChannelInactive() }
        eventLoop.assumeIsolated().execute {
            self.removeHandlers(pipeline: self.pipeline)
            self.closePromise.succeed()
        }
    }

    func triggerUserOutboundEvent0(_ event: Any, promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.operationUnsupported)
    }

    func channelRead0(_ data: NIOAny) {}
    func errorCaught0(error: any Error) {}
}
