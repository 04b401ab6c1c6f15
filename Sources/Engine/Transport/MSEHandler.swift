import NIOCore
import Synchronization

/// Runs MSE/PE on a byte channel: the first handler of a connection's pipeline, under the peer wire
/// codec, so that what is above it sees the plain BitTorrent byte stream whatever the connection is.
/// It needs nothing of TCP: any channel of `ByteBuffer`s (uTP later) takes it unchanged.
///
/// While the handshake runs (an ``MSEHandshake``), what the layer above writes is held (the
/// initiator sends it as its initial payload); once done, held writes go out, encrypted if RC4 was
/// chosen, and so does everything after; reads are decrypted likewise. A failed handshake fires its
/// ``MSEError`` down the pipeline (the connection's reader ends with it) and closes the channel.
final class MSEHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: MSEHandshake
    private var encryptor: RC4?
    private var decryptor: RC4?
    private var done = false
    private var started = false
    /// What the layer above wrote during the handshake, and the promises of those writes.
    private var pending: [UInt8] = []
    private var pendingPromises: [EventLoopPromise<Void>] = []
    private let result: MSEResult
    private var completion: EventLoopPromise<PeerTransportSecurity>?

    /// A handler running `machine`; the outcome is published in `result` and `completion` (which
    /// fails with the handshake's error).
    init(
        machine: MSEHandshake, result: MSEResult = MSEResult(),
        completion: EventLoopPromise<PeerTransportSecurity>? = nil
    ) {
        self.machine = machine
        self.result = result
        self.completion = completion
    }

    /// A deadline failed the completion promise: the handshake is abandoned and the channel closed.
    private func abandon(_ error: MSEError, context: ChannelHandlerContext) {
        // Nil when this handler completed the promise itself.
        guard completion != nil, !done, !machine.isFinished else { return }
        completion = nil
        machine.abandon()
        fail(error, context: context)
    }

    /// The completion promise, taken so that it is completed once.
    private func takeCompletion() -> EventLoopPromise<PeerTransportSecurity>? {
        defer { completion = nil }
        return completion
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if let completion {
            // A deadline (or anything else) that fails the promise first ends the handshake.
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            completion.futureResult.whenFailure { error in
                let (handler, context) = loopBound.value
                handler.abandon(error as? MSEError ?? .timedOut, context: context)
            }
        }
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let bytes = machine.start()
        guard !bytes.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if done {
            if decryptor != nil { buffer.withUnsafeMutableReadableBytes { decryptor!.apply($0) } }
            context.fireChannelRead(wrapInboundOut(buffer))
            return
        }
        guard !machine.isFinished else { return }  // failed: ignore the rest
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        do {
            let step = try machine.receive(bytes, pending: &pending)
            if !step.send.isEmpty {
                context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: step.send)), promise: nil)
            }
            guard let outcome = step.outcome else {
                if !step.send.isEmpty { context.flush() }
                return
            }
            finish(outcome, context: context)
        } catch {
            fail(error, context: context)
        }
    }

    private func finish(_ outcome: MSEHandshake.Outcome, context: ChannelHandlerContext) {
        done = true
        encryptor = outcome.encryptor
        decryptor = outcome.decryptor
        result.set(outcome.security)
        takeCompletion()?.succeed(outcome.security)
        // What the layer above wrote meanwhile (and was not sent as the initial payload) goes out now.
        if !pending.isEmpty {
            var bytes = pending
            pending = []
            encryptor?.apply(&bytes)
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        }
        context.flush()
        let promises = pendingPromises
        pendingPromises = []
        for promise in promises { promise.succeed(()) }
        if !outcome.received.isEmpty {
            context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: outcome.received)))
            context.fireChannelReadComplete()
        }
    }

    private func fail(_ error: MSEError, context: ChannelHandlerContext) {
        pending = []
        takeCompletion()?.fail(error)
        let promises = pendingPromises
        pendingPromises = []
        for promise in promises { promise.fail(error) }
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if done { context.fireChannelReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done && !machine.isFinished {
            let error = MSEError.endedEarly(stage: machine.stageDescription)
            let promises = pendingPromises
            pendingPromises = []
            pending = []
            for promise in promises { promise.fail(error) }
            takeCompletion()?.fail(error)
        }
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var buffer = unwrapOutboundIn(data)
        if done {
            if encryptor != nil { buffer.withUnsafeMutableReadableBytes { encryptor!.apply($0) } }
            context.write(wrapOutboundOut(buffer), promise: promise)
            return
        }
        guard !machine.isFinished else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        pending += buffer.readableBytesView
        if let promise { pendingPromises.append(promise) }
    }

    func flush(context: ChannelHandlerContext) {
        if done { context.flush() }
    }
}

/// How an MSE handler's handshake ended, readable from any thread: nil until it is done.
package final class MSEResult: Sendable {
    private let value = Mutex<PeerTransportSecurity?>(nil)

    package init() {}

    /// The outcome, once the handshake is done.
    package var security: PeerTransportSecurity? { value.withLock { $0 } }

    func set(_ security: PeerTransportSecurity) { value.withLock { $0 = security } }
}
