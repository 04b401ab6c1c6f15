import NIOCore
import NIOPosix
import Synchronization

@testable import Engine

/// A peer on 127.0.0.1 that speaks the extension protocol by a script: it answers the handshake with
/// the extension bit, sends its extension handshake (receiving `ut_metadata` as 3 and `ut_pex` as 4,
/// not btq's numbers), serves `metadata` (or rejects every request), answers BEP 52 hash requests
/// from the piece layers of `hashes` (a v2 torrent's), and sends `pex` once it has the other side's
/// extension handshake. It records what it received.
final class ScriptedPeer: Sendable {
    struct Script: Sendable {
        var infoHash: [UInt8]
        var reserved: ReservedBits = [.extensionProtocol]
        /// Sent after the handshake; `nil` sends none.
        var extensionHandshake: ExtensionHandshake?
        /// Sent instead of ``extensionHandshake`` when set (malformed ones, say).
        var rawExtensionHandshake: [UInt8]?
        /// What it serves for metadata requests.
        var metadata: [UInt8]?
        var rejectAll = false
        var pex: PexMessage?
        /// A second extension handshake sent right behind ``pex``: once the other side has it, it has
        /// handled the PEX message.
        var afterPex: ExtensionHandshake?
        /// Sends ``pex`` under this id even when the other side offered no `ut_pex` (a rude peer).
        var forcedPexID: UInt8?
        /// The torrent whose piece layers answer hash requests (a v2 or hybrid one); `nil`: none answered.
        var hashes: Metainfo?
    }

    struct Record: Sendable {
        var connections = 0
        var extensionHandshakes: [ExtensionHandshake] = []
        var metadataRequests = 0
        var pexReceived: [PexMessage] = []
        var hashRequests = 0
    }

    final class RecordBox: Sendable {
        let mutex = Mutex(Record())
        func withLock<T: Sendable>(_ body: (inout Record) -> T) -> T { mutex.withLock { body(&$0) } }
    }

    static let metadataID: UInt8 = 3
    static let pexID: UInt8 = 4

    let channel: any Channel
    let port: Int
    private let record: RecordBox

    var address: PeerAddress { PeerAddress(host: .ipv4(127, 0, 0, 1), port: UInt16(port)) }
    var received: Record { record.withLock { $0 } }

    /// The extension handshake of a peer that has `metadata` (its `metadata_size`).
    static func handshake(metadataSize: Int?, pex: Bool = true) -> ExtensionHandshake {
        var extensions = ["ut_metadata": metadataID]
        if pex { extensions["ut_pex"] = pexID }
        return ExtensionHandshake(
            extensions: extensions, clientName: "Scripted 1.0", requestQueueLength: 250, metadataSize: metadataSize)
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = PeerWireFrame
        typealias OutboundOut = PeerWireFrame
        let script: Script
        let record: RecordBox
        let peerId = Array("-SP0001-".utf8) + (0..<12).map { _ in UInt8.random(in: 97...122) }
        /// Only touched on the channel's event loop.
        var hashServer: V2HashServer?

        init(script: Script, record: RecordBox) {
            self.script = script
            self.record = record
            hashServer = script.hashes.flatMap(V2HashServer.init(metainfo:))
        }

        func channelActive(context: ChannelHandlerContext) {
            record.withLock { $0.connections += 1 }
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .handshake(let theirs):
                guard theirs.infoHash == script.infoHash else {
                    context.close(promise: nil)
                    return
                }
                let ours = PeerHandshake(infoHash: script.infoHash, peerId: peerId, reserved: script.reserved)
                context.write(wrapOutboundOut(.handshake(ours)), promise: nil)
                if let bytes = script.rawExtensionHandshake ?? script.extensionHandshake?.encoded() {
                    let message = PeerMessage.extended(id: 0, payload: ByteBuffer(bytes: bytes))
                    context.write(wrapOutboundOut(.message(message)), promise: nil)
                }
                context.flush()
            case .message(.extended(0, let payload)):
                guard let handshake = try? ExtensionHandshake(decoding: payload.readableBytesView) else {
                    context.close(promise: nil)
                    return
                }
                record.withLock { $0.extensionHandshakes.append(handshake) }
                if let pex = script.pex, let id = script.forcedPexID ?? handshake.id(of: "ut_pex") {
                    let message = PeerMessage.extended(id: id, payload: ByteBuffer(bytes: pex.encoded()))
                    context.write(wrapOutboundOut(.message(message)), promise: nil)
                    if let after = script.afterPex {
                        let second = PeerMessage.extended(id: 0, payload: ByteBuffer(bytes: after.encoded()))
                        context.write(wrapOutboundOut(.message(second)), promise: nil)
                    }
                    context.flush()
                }
            case .message(.extended(ScriptedPeer.metadataID, let payload)):
                guard case .request(let piece) = try? MetadataMessage.decode(payload.readableBytesView),
                    let theirs = record.withLock({ $0.extensionHandshakes.last })?.id(of: "ut_metadata")
                else { return }
                record.withLock { $0.metadataRequests += 1 }
                let reply: MetadataMessage
                if let metadata = script.metadata, !script.rejectAll,
                    piece < MetadataMessage.pieceCount(metadataSize: metadata.count)
                {
                    let start = piece * MetadataMessage.pieceLength
                    let end = start + MetadataMessage.length(ofPiece: piece, metadataSize: metadata.count)
                    reply = .data(piece: piece, totalSize: metadata.count, bytes: Array(metadata[start..<end]))
                } else {
                    reply = .reject(piece: piece)
                }
                let message = PeerMessage.extended(id: theirs, payload: ByteBuffer(bytes: reply.encoded()))
                context.writeAndFlush(wrapOutboundOut(.message(message)), promise: nil)
            case .message(.extended(ScriptedPeer.pexID, let payload)):
                if let pex = try? PexMessage(decoding: payload.readableBytesView) {
                    record.withLock { $0.pexReceived.append(pex) }
                }
            case .message(.unknown(HashMessage.requestID, let payload)):
                guard case .request(let request) = try? HashMessage(id: HashMessage.requestID, payload: payload),
                    let reply = hashServer?.answer(request).reply
                else { return }
                record.withLock { $0.hashRequests += 1 }
                context.writeAndFlush(wrapOutboundOut(.message(reply.peerMessage)), promise: nil)
            default:
                break
            }
        }
    }

    init(_ script: Script) async throws {
        let record = RecordBox()
        self.record = record
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addPeerWireCodec()
                    try child.pipeline.syncOperations.addHandler(Handler(script: script, record: record))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    func close() async {
        try? await channel.close()
    }
}
