import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct PeerFrameBatcherTests {
    @Test func oneBatchPerReadAndEarlyFlushAtTheLimit() throws {
        let channel = EmbeddedChannel(handler: PeerFrameBatcher(maxBatch: 3))
        let messages: [PeerMessage] = [.interested, .unchoke, .have(1), .have(2), .keepAlive]
        // Frames are fired one by one (writeInbound would complete the read after each): two frames,
        // then the read completes: one batch of two.
        channel.pipeline.fireChannelRead(PeerWireFrame.message(messages[0]))
        channel.pipeline.fireChannelRead(PeerWireFrame.message(messages[1]))
        #expect(try channel.readInbound(as: [PeerWireFrame].self) == nil)
        channel.pipeline.fireChannelReadComplete()
        #expect(try channel.readInbound(as: [PeerWireFrame].self) == messages[0..<2].map(PeerWireFrame.message))
        // Three frames reach the limit before the read completes; the rest follows at completion.
        for message in messages[2...] { channel.pipeline.fireChannelRead(PeerWireFrame.message(message)) }
        #expect(try channel.readInbound(as: [PeerWireFrame].self) == messages[2...].map(PeerWireFrame.message))
        channel.pipeline.fireChannelReadComplete()
        #expect(try channel.readInbound(as: [PeerWireFrame].self) == nil)
        // What is pending when the connection closes is still delivered.
        channel.pipeline.fireChannelRead(PeerWireFrame.message(.choke))
        channel.pipeline.fireChannelInactive()
        #expect(try channel.readInbound(as: [PeerWireFrame].self) == [.message(.choke)])
        _ = try? channel.finish()
    }
}
