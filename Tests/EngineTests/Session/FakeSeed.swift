import Crypto
import Foundation
import NIOCore
import NIOPosix

@testable import Engine

/// A minimal seeding peer on 127.0.0.1 for session tests: answers the handshake with `have all`
/// (or a bitfield of `pieces`), unchokes whoever is interested and serves requests from `content`,
/// inverting the bytes of every block of the pieces in `corrupt`. With a `blockBudget`, the seed serves
/// that many blocks in all (over every connection) and then ignores requests (a seed that stalls).
final class FakeSeed: Sendable {
    let channel: any Channel
    let port: Int

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = PeerWireFrame
        typealias OutboundOut = PeerWireFrame
        let infoHash: [UInt8]
        let content: [UInt8]
        let pieceLength: Int
        let pieceCount: Int
        let pieces: Set<Int>?
        let corrupt: Set<Int>
        let budget: BlockBudget?
        let peerId = Array("-FS0001-".utf8) + (0..<12).map { _ in UInt8.random(in: 97...122) }

        init(
            infoHash: [UInt8], content: [UInt8], pieceLength: Int, pieces: Set<Int>?, corrupt: Set<Int>,
            budget: BlockBudget?
        ) {
            self.budget = budget
            self.infoHash = infoHash
            self.content = content
            self.pieceLength = pieceLength
            self.pieceCount = (content.count + pieceLength - 1) / pieceLength
            self.pieces = pieces
            self.corrupt = corrupt
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .handshake(let theirs):
                guard theirs.infoHash == infoHash else {
                    context.close(promise: nil)
                    return
                }
                let ours = PeerHandshake(infoHash: infoHash, peerId: peerId, reserved: [])
                context.write(wrapOutboundOut(.handshake(ours)), promise: nil)
                var bitfield = PeerBitfield(count: pieceCount)
                for piece in 0..<pieceCount where pieces?.contains(piece) ?? true {
                    bitfield.insert(PieceIndex(piece))
                }
                context.writeAndFlush(
                    wrapOutboundOut(.message(.bitfield(ByteBuffer(bytes: bitfield.bytes)))), promise: nil)
            case .message(.interested):
                context.writeAndFlush(wrapOutboundOut(.message(.unchoke)), promise: nil)
            case .message(.request(let request)):
                if let budget, !budget.take() { return }
                let start = Int(request.piece.rawValue) * pieceLength + Int(request.begin)
                var block = Array(content[start..<min(content.count, start + Int(request.length))])
                if corrupt.contains(Int(request.piece.rawValue)) { block = block.map { ~$0 } }
                let message = PeerMessage.piece(
                    index: request.piece, begin: request.begin, block: ByteBuffer(bytes: block))
                context.writeAndFlush(wrapOutboundOut(.message(message)), promise: nil)
            default:
                break
            }
        }
    }

    init(
        infoHash: [UInt8], content: [UInt8], pieceLength: Int, pieces: Set<Int>? = nil, corrupt: Set<Int> = [],
        blockBudget: Int? = nil
    ) async throws {
        let budget = blockBudget.map(BlockBudget.init)
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addPeerWireCodec()
                    try child.pipeline.syncOperations.addHandler(
                        Handler(
                            infoHash: infoHash, content: content, pieceLength: pieceLength, pieces: pieces,
                            corrupt: corrupt, budget: budget))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
    }

    var address: PeerAddress { PeerAddress(host: .ipv4(127, 0, 0, 1), port: UInt16(port)) }

    func close() async {
        try? await channel.close()
    }
}

/// Blocks a seed may still serve, shared by its connections.
final class BlockBudget: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `remaining` is accessed only with `lock` held.
    private let lock = NSLock()
    private var remaining: Int

    init(_ blocks: Int) { remaining = blocks }

    /// True (and one block fewer) while any is left.
    func take() -> Bool {
        lock.withLock {
            guard remaining > 0 else { return false }
            remaining -= 1
            return true
        }
    }
}

/// Content and a v1 metainfo of it, built in memory.
struct SessionFixture {
    let content: [UInt8]
    let metainfo: Metainfo

    /// A torrent of several files (`files`: name and length, in order) named "tree".
    init(files: [(String, Int)], pieceLength: Int, seed: UInt64 = 7) {
        content = Self.content(length: files.reduce(0) { $0 + $1.1 }, seed: seed)
        let entries = files.map { name, size in "d6:lengthi\(size)e4:pathl\(name.utf8.count):\(name)ee" }
        metainfo = Self.metainfo(
            content, pieceLength: pieceLength, fields: "5:filesl" + entries.joined() + "e4:name4:tree")
    }

    /// A single-file torrent named "data.bin".
    init(length: Int, pieceLength: Int, seed: UInt64 = 7) {
        content = Self.content(length: length, seed: seed)
        metainfo = Self.metainfo(content, pieceLength: pieceLength, fields: "6:lengthi\(length)e4:name8:data.bin")
    }

    /// A memory storage that holds the whole content, as a seed's does.
    func filledStorage() async throws -> MemoryStorage {
        let storage = MemoryStorage(metainfo: metainfo)
        try await storage.prepare()
        var offset = 0
        for piece in storage.layout.pieces {
            let length = storage.layout.length(of: piece)
            try await storage.write(piece: piece, begin: 0, bytes: Array(content[offset..<offset + length]))
            offset += length
        }
        return storage
    }

    private static func content(length: Int, seed: UInt64) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        return (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
    }

    /// A torrent whose info dictionary holds `fields` (bencoded, in key order before `piece length`) and
    /// the piece hashes of `content`.
    private static func metainfo(_ content: [UInt8], pieceLength: Int, fields: String) -> Metainfo {
        var hashes: [UInt8] = []
        var offset = 0
        while offset < content.count {
            hashes += Array(Insecure.SHA1.hash(data: content[offset..<min(content.count, offset + pieceLength)]))
            offset += pieceLength
        }
        let info =
            Array("d\(fields)12:piece lengthi\(pieceLength)e6:pieces\(hashes.count):".utf8) + hashes + Array("e".utf8)
        return try! Metainfo(bytes: Array("d4:info".utf8) + info + Array("e".utf8))
    }
}
