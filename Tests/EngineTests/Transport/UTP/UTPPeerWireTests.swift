import NIOCore
import Testing

@testable import Engine

/// The peer wire over uTP exactly as over TCP: the MSE handler (RC4 required), the codec and the
/// batcher on a ``UTPChannel``, wrapped in the same `NIOAsyncChannel`, over real UDP sockets.
@Suite struct UTPPeerWireTests {
    typealias Connection = NIOAsyncChannel<[PeerWireFrame], PeerWireFrame>
    static let infoHash = [UInt8](repeating: 0xab, count: 20)

    @Test func encryptedHandshakeAndMessagesOverUTP() async throws {
        let server = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let client = try await UTPSocket.bind(host: "127.0.0.1", port: 0)
        let accepted = server.channel.eventLoop.makePromise(of: (Connection, MSEResult?).self)
        try await server.setAcceptor { channel in
            do {
                let result = try channel.pipeline.syncOperations.addMSEResponder(
                    policy: .require, infoHashes: { [Self.infoHash] })
                try channel.pipeline.syncOperations.addPeerWireCodec()
                try channel.pipeline.syncOperations.addHandler(PeerFrameBatcher())
                let wrapped = try Connection(
                    wrappingChannelSynchronously: channel, configuration: PeerDialer.channelConfiguration)
                accepted.succeed((wrapped, result))
                return true
            } catch {
                return false
            }
        }
        let (dialled, handshake) = try await client.connect(
            to: try SocketAddress(ipAddress: "127.0.0.1", port: Int(server.port))
        ) { channel in
            let handshake = try channel.pipeline.syncOperations.addMSEInitiator(
                infoHash: Self.infoHash, policy: .require)
            try channel.pipeline.syncOperations.addPeerWireCodec()
            try channel.pipeline.syncOperations.addHandler(PeerFrameBatcher())
            let wrapped = try Connection(
                wrappingChannelSynchronously: channel, configuration: PeerDialer.channelConfiguration)
            return (wrapped, handshake)
        }
        #expect(try await handshake.get() == .rc4)
        let (incoming, result) = try await accepted.futureResult.get()
        let ours = PeerHandshake(infoHash: Self.infoHash, peerId: [UInt8](repeating: 1, count: 20))
        let theirs = PeerHandshake(infoHash: Self.infoHash, peerId: [UInt8](repeating: 2, count: 20))
        let piece = PeerWireFrame.message(.have(PieceIndex(7)))
        async let served: [PeerWireFrame] = incoming.executeThenClose { inbound, outbound in
            var frames: [PeerWireFrame] = []
            for try await batch in inbound {
                frames += batch
                if frames.count == 2 { break }
            }
            try await outbound.write(.handshake(theirs))
            return frames
        }
        let answered: [PeerWireFrame] = try await dialled.executeThenClose { inbound, outbound in
            try await outbound.write(.handshake(ours))
            try await outbound.write(piece)
            var frames: [PeerWireFrame] = []
            for try await batch in inbound {
                frames += batch
                if !frames.isEmpty { break }
            }
            return frames
        }
        #expect(try await served == [.handshake(ours), piece])
        #expect(answered == [.handshake(theirs)])
        #expect(result?.security == .rc4)
        await client.close()
        await server.close()
    }
}
