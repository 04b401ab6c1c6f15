import NIOCore
import NIOEmbedded
import Testing

@testable import Engine

/// The channel handler over two embedded channels: what the layer above writes during the handshake
/// is held and delivered, what follows is encrypted on the wire and decrypted on the other side.
@Suite struct MSEHandlerTests {
    static let infoHash = [UInt8](repeating: 0xCD, count: 20)

    /// Moves everything each channel wrote to the other until neither writes; returns the bytes seen on the wire.
    @discardableResult
    static func shuttle(_ a: EmbeddedChannel, _ b: EmbeddedChannel) throws -> [UInt8] {
        var wire: [UInt8] = []
        var moved = true
        while moved {
            moved = false
            while let out = try a.readOutbound(as: ByteBuffer.self) {
                wire += out.readableBytesView
                try b.writeInbound(out)
                moved = true
            }
            while let out = try b.readOutbound(as: ByteBuffer.self) {
                wire += out.readableBytesView
                try a.writeInbound(out)
                moved = true
            }
        }
        return wire
    }

    static func inbound(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { bytes += buffer.readableBytesView }
        return bytes
    }

    static func pair(
        initiatorMethods: MSEMethods = [.plaintext, .rc4], responderMethods: MSEMethods = [.plaintext, .rc4]
    ) throws -> (EmbeddedChannel, MSEResult, EmbeddedChannel, MSEResult) {
        let resultA = MSEResult()
        let resultB = MSEResult()
        let a = EmbeddedChannel(
            handler: MSEHandler(
                machine: .initiator(infoHash: infoHash, methods: initiatorMethods), result: resultA))
        let b = EmbeddedChannel(
            handler: MSEHandler(
                machine: .responder(
                    infoHashes: { [infoHash] }, methods: responderMethods, plaintextAllowed: true),
                result: resultB))
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 6881)
        try b.connect(to: address).wait()
        try a.connect(to: address).wait()
        return (a, resultA, b, resultB)
    }

    @Test(arguments: [MSEMethods.rc4, .plaintext])
    func streamBothWays(method: MSEMethods) throws {
        let (a, resultA, b, resultB) = try Self.pair(initiatorMethods: method)
        let hello = MSEHandshake.plaintextPrefix + [UInt8](repeating: 1, count: 48)
        let written = a.writeAndFlush(ByteBuffer(bytes: hello))
        try Self.shuttle(a, b)
        #expect(resultA.security == (method == .rc4 ? .rc4 : .plaintextMSE))
        #expect(resultB.security == resultA.security)
        try written.wait()
        #expect(try Self.inbound(b) == hello, "the held handshake arrives as the initial payload")
        // After the handshake, big writes both ways.
        let block = (0..<20000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try b.writeAndFlush(ByteBuffer(bytes: block)).wait()
        try a.writeAndFlush(ByteBuffer(bytes: block.reversed())).wait()
        let wire = try Self.shuttle(a, b)
        #expect(try Self.inbound(a) == block)
        #expect(try Self.inbound(b) == Array(block.reversed()))
        let marker = Array(block.prefix(64))
        let plainOnWire = (0...(wire.count - marker.count)).contains {
            wire[$0..<$0 + marker.count].elementsEqual(marker)
        }
        #expect(plainOnWire == (method == .plaintext))
        _ = try a.finish()
        _ = try b.finish()
    }

    @Test func writesDuringTheHandshakeKeepTheirOrder() throws {
        let (a, _, b, _) = try Self.pair()
        _ = a.write(ByteBuffer(bytes: [1, 2, 3]))
        a.flush()
        try Self.shuttle(a, b)
        _ = a.writeAndFlush(ByteBuffer(bytes: [4, 5]))
        try Self.shuttle(a, b)
        #expect(try Self.inbound(b) == [1, 2, 3, 4, 5])
    }

    @Test func garbageFailsAndCloses() throws {
        let b = EmbeddedChannel(
            handler: MSEHandler(
                machine: .responder(infoHashes: { [Self.infoHash] }, methods: .rc4, plaintextAllowed: false)))
        try b.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6881)).wait()
        let pending = b.writeAndFlush(ByteBuffer(bytes: [9, 9]))
        #expect(throws: MSEError.synchronisationNotFound(searched: 532)) {
            try b.writeInbound(ByteBuffer(bytes: [UInt8](repeating: 3, count: 2000)))
        }
        #expect(!b.isActive)
        #expect(throws: MSEError.synchronisationNotFound(searched: 532)) { try pending.wait() }
        #expect(try Self.inbound(b).isEmpty)
    }

    @Test func plainHandshakeRefusedWhenRequired() throws {
        let b = EmbeddedChannel(
            handler: MSEHandler(
                machine: .responder(infoHashes: { [Self.infoHash] }, methods: .rc4, plaintextAllowed: false)))
        try b.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6881)).wait()
        #expect(throws: MSEError.plaintextRefused) {
            try b.writeInbound(ByteBuffer(bytes: MSEHandshake.plaintextPrefix + [0, 0]))
        }
        #expect(!b.isActive)
    }
}
