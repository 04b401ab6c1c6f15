import NIOCore
import Testing

@testable import Engine

/// BEP 10: the extension handshake codec, strict about the envelope and tolerant about the fields.
@Suite(.timeLimit(.minutes(5))) struct ExtensionProtocolTests {
    @Test func reservedBitIsByteFiveMaskSixteen() {
        let bits = ReservedBits.extensionProtocol
        #expect(bits.bytes == [0, 0, 0, 0, 0, 0x10, 0, 0])
        var wire = ByteBuffer()
        wire.writePeerHandshake(
            PeerHandshake(infoHash: Array(repeating: 1, count: 20), peerId: PeerID.generate(), reserved: [.fast, bits]))
        #expect(wire.getBytes(at: 20, length: 8) == [0, 0, 0, 0, 0, 0x10, 0, 0x04])
    }

    @Test func handshakeRoundTrips() throws {
        let handshake = ExtensionHandshake(
            extensions: ["ut_metadata": 2, "ut_pex": 1], clientName: "btq 0.1.0", listenPort: 51413,
            requestQueueLength: 500, metadataSize: 31_235, yourIP: [127, 0, 0, 1], uploadOnly: true)
        let bytes = handshake.encoded()
        #expect(try ExtensionHandshake(decoding: bytes) == handshake)
        // Canonical: keys in byte order, so the encoding is stable.
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "d1:md11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei31235e1:pi51413e4:reqqi500e"
                + "11:upload_onlyi1e1:v9:btq 0.1.06:yourip4:\u{7f}\0\0\u{1}e")
    }

    /// What libtorrent 2.0 sends (keys as it orders them, extra keys included).
    @Test func decodesLibtorrentHandshake() throws {
        let text =
            "d12:complete_agoi-1e1:md11:lt_donthavei7e10:share_modei8e11:upload_onlyi3e12:ut_holepunchi4e"
            + "11:ut_metadatai2e6:ut_pexi1ee13:metadata_sizei1234e4:reqqi500e1:v18:libtorrent 2.0.8.0"
            + "6:yourip4:\u{7f}\0\0\u{1}e"
        let handshake = try ExtensionHandshake(decoding: Array(text.utf8))
        #expect(handshake.id(of: "ut_metadata") == 2)
        #expect(handshake.id(of: "ut_pex") == 1)
        #expect(handshake.id(of: "lt_donthave") == 7)
        #expect(handshake.metadataSize == 1234)
        #expect(handshake.requestQueueLength == 500)
        #expect(handshake.clientName == "libtorrent 2.0.8.0")
        #expect(handshake.yourIP == [127, 0, 0, 1])
        #expect(handshake.listenPort == nil)
    }

    /// What Transmission 3 sends: `e`, `ipv6`, `p`, `upload_only`, its ids in another order.
    @Test func decodesTransmissionHandshake() throws {
        let ipv6 = [UInt8](repeating: 0, count: 15) + [1]
        let bytes =
            Array("d1:ei0e4:ipv616:".utf8) + ipv6
            + Array(
                ("12:complete_agoi1e1:md12:ut_holepunchi4e11:ut_metadatai3e6:ut_pexi1ee13:metadata_sizei31235e"
                    + "1:pi51413e4:reqqi512e11:upload_onlyi1e1:v17:Transmission 3.006:yourip4:").utf8)
            + [127, 0, 0, 1] + Array("e".utf8)
        let handshake = try ExtensionHandshake(decoding: bytes)
        #expect(handshake.extensions == ["ut_holepunch": 4, "ut_metadata": 3, "ut_pex": 1])
        #expect(handshake.metadataSize == 31_235)
        #expect(handshake.listenPort == 51413)
        #expect(handshake.requestQueueLength == 512)
        #expect(handshake.uploadOnly)
        #expect(handshake.clientName == "Transmission 3.00")
        #expect(handshake.yourIP == [127, 0, 0, 1])
    }

    @Test func fieldsOfTheWrongTypeOrRangeAreIgnored() throws {
        let text =
            "d1:md11:ut_metadatai0e6:ut_pexi300e3:fooi5e3:bar3:xyze13:metadata_size3:big1:pi70000e"
            + "4:reqqi-3e1:v10:\u{1}evil\n\u{7}nam6:yourip3:abc7:unknownli1eee"
        let handshake = try ExtensionHandshake(decoding: Array(text.utf8))
        #expect(handshake.extensions == ["foo": 5])
        #expect(handshake.metadataSize == nil)
        #expect(handshake.listenPort == nil)
        #expect(handshake.requestQueueLength == nil)
        #expect(handshake.yourIP == nil)
        #expect(handshake.clientName == "evilnam")
    }

    @Test(arguments: [
        "", "i42e", "le", "d1:mi1ee", "d1:md", "d1:v3:abe", "d1:md11:ut_metadatai2eeee",
        "d1:md11:ut_metadatai2ee1:v",
    ])
    func malformedHandshakesThrow(_ text: String) {
        #expect(throws: ExtensionMessageError.self) { try ExtensionHandshake(decoding: Array(text.utf8)) }
    }

    @Test func oversizedHandshakeThrowsBeforeDecoding() {
        let huge =
            Array("d1:v\(ExtensionHandshake.maxLength):".utf8)
            + Array(repeating: 0x41, count: ExtensionHandshake.maxLength) + [0x65]
        #expect(throws: ExtensionMessageError.self) { try ExtensionHandshake(decoding: huge) }
    }

    @Test func deeplyNestedHandshakeThrows() {
        let nested = Array(("d1:x" + String(repeating: "l", count: 50) + String(repeating: "e", count: 50) + "e").utf8)
        #expect(throws: ExtensionMessageError.self) { try ExtensionHandshake(decoding: nested) }
    }
}

/// BEP 9 messages.
@Suite(.timeLimit(.minutes(5))) struct MetadataMessageTests {
    @Test(arguments: [
        MetadataMessage.request(piece: 0), .request(piece: 7), .reject(piece: 3),
        .data(piece: 1, totalSize: 20_000, bytes: Array(repeating: 9, count: 20_000 - 16_384)),
        .data(piece: 0, totalSize: 5, bytes: Array("d1:xe".utf8)),
    ])
    func roundTrips(_ message: MetadataMessage) throws {
        #expect(try MetadataMessage.decode(message.encoded()) == message)
    }

    @Test func wireFormMatchesBEP9() {
        #expect(
            String(decoding: MetadataMessage.request(piece: 0).encoded(), as: UTF8.self) == "d8:msg_typei0e5:piecei0ee")
        #expect(
            String(
                decoding: MetadataMessage.data(piece: 0, totalSize: 3, bytes: Array("abc".utf8)).encoded(),
                as: UTF8.self)
                == "d8:msg_typei1e5:piecei0e10:total_sizei3eeabc")
        #expect(
            String(decoding: MetadataMessage.reject(piece: 0).encoded(), as: UTF8.self) == "d8:msg_typei2e5:piecei0ee")
    }

    @Test func unknownMessageTypeIsIgnored() throws {
        #expect(try MetadataMessage.decode(Array("d8:msg_typei9e5:piecei0ee".utf8)) == nil)
    }

    @Test(arguments: [
        "d5:piecei0ee", "d8:msg_typei0ee", "d8:msg_typei0e5:piecei-1ee", "d8:msg_typei0e5:piece1:0e",
        "d8:msg_typei1e5:piecei0ee", "d8:msg_typei1e5:piecei0e10:total_sizei0ee",
        "d8:msg_typei1e5:piecei0e10:total_sizei99999999999ee", "d8:msg_typei0e5:piecei0eextra", "l", "3:abc",
        "d8:msg_typei0e5:piecei99999999ee",
    ])
    func malformedMessagesThrow(_ text: String) {
        #expect(throws: ExtensionMessageError.self) { try MetadataMessage.decode(Array(text.utf8)) }
    }

    @Test func oversizedMessageThrows() {
        let message = MetadataMessage.data(piece: 0, totalSize: 40_000, bytes: Array(repeating: 1, count: 20_000))
        #expect(throws: ExtensionMessageError.self) { try MetadataMessage.decode(message.encoded()) }
    }

    @Test func pieceArithmetic() {
        #expect(MetadataMessage.pieceCount(metadataSize: 1) == 1)
        #expect(MetadataMessage.pieceCount(metadataSize: 16_384) == 1)
        #expect(MetadataMessage.pieceCount(metadataSize: 16_385) == 2)
        #expect(MetadataMessage.length(ofPiece: 1, metadataSize: 16_385) == 1)
        #expect(MetadataMessage.length(ofPiece: 0, metadataSize: 16_385) == 16_384)
    }
}

/// BEP 11 messages.
@Suite(.timeLimit(.minutes(5))) struct PexMessageTests {
    static let v4 = PeerAddress(host: .ipv4(127, 0, 0, 2), port: 6881)
    static let v4b = PeerAddress(host: .ipv4(10, 1, 2, 3), port: 51413)
    static let v6 = PeerAddress(
        host: .ipv6([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]), port: 443)

    @Test func roundTrips() throws {
        let message = PexMessage(
            added: [
                .init(address: Self.v4, flags: [.reachable, .seed]), .init(address: Self.v6, flags: .utp),
                .init(address: Self.v4b),
            ],
            dropped: [PeerAddress(host: .ipv4(192, 168, 1, 1), port: 1), Self.v6])
        let decoded = try PexMessage(decoding: message.encoded())
        #expect(decoded.added.map(\.address) == [Self.v4, Self.v4b, Self.v6])
        #expect(decoded.added.map(\.flags) == [[.reachable, .seed], [], .utp])
        #expect(Set(decoded.dropped) == Set(message.dropped))
    }

    @Test func wireFormMatchesBEP11() {
        let message = PexMessage(added: [.init(address: Self.v4, flags: .reachable)])
        let expected =
            Array("d5:added6:".utf8) + [127, 0, 0, 2, 0x1a, 0xe1] + Array("7:added.f1:".utf8) + [0x10]
            + Array("6:added60:8:added6.f0:7:dropped0:8:dropped60:e".utf8)
        #expect(message.encoded() == expected)
    }

    @Test func garbageInsideIsIgnored() throws {
        // A partial trailing entry, port 0, 0.0.0.0, multicast, flags missing, a list where bytes belong.
        var added: [UInt8] = [127, 0, 0, 3, 0x1a, 0xe1]
        added += [127, 0, 0, 4, 0, 0]
        added += [0, 0, 0, 0, 0x1a, 0xe1]
        added += [239, 1, 1, 1, 0x1a, 0xe1]
        added += [10, 0, 0, 9, 0x00, 0x50]
        added += [1, 2, 3]
        let payload =
            Array("d5:added\(added.count):".utf8) + added + Array("7:added.f1:\u{2}6:added6li1ee7:dropped2:xye".utf8)
        let message = try PexMessage(decoding: payload)
        #expect(
            message.added == [
                .init(address: PeerAddress(host: .ipv4(127, 0, 0, 3), port: 6881), flags: .seed),
                .init(address: PeerAddress(host: .ipv4(10, 0, 0, 9), port: 80)),
            ])
        #expect(message.dropped.isEmpty)
    }

    @Test func countsAreBounded() throws {
        var added: [UInt8] = []
        for i in 0..<1000 { added += [10, 0, UInt8(i >> 8), UInt8(i & 0xff), 0x1a, 0xe1] }
        let payload =
            Array("d5:added\(added.count):".utf8) + added + Array("7:dropped\(added.count):".utf8) + added + [0x65]
        let message = try PexMessage(decoding: payload)
        #expect(message.added.count == PexMessage.maxPeers)
        #expect(message.dropped.count == PexMessage.maxPeers)
    }

    /// A full IPv4 list does not crowd out the IPv6 one: each family keeps its own ``PexMessage/maxPeers``.
    @Test func eachFamilyIsBoundedOnItsOwn() throws {
        var added: [UInt8] = []
        var added6: [UInt8] = []
        for i in 0..<300 {
            added += [10, 0, UInt8(i >> 8), UInt8(i & 0xff), 0x1a, 0xe1]
            added6 += [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 10) + [UInt8(i >> 8), UInt8(i & 0xff)]
            added6 += [0x1a, 0xe1]
        }
        let payload =
            Array("d5:added\(added.count):".utf8) + added + Array("6:added6\(added6.count):".utf8) + added6
            + Array("8:dropped6\(added6.count):".utf8) + added6 + [0x65]
        let message = try PexMessage(decoding: payload)
        let ipv6 = message.added.filter { $0.address.compact?.count == 18 }
        #expect(message.added.count == 2 * PexMessage.maxPeers)
        #expect(ipv6.count == PexMessage.maxPeers)
        #expect(
            ipv6.last?.address.host == .ipv6([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 10) + [0, 199]))
        #expect(message.dropped.count == PexMessage.maxPeers)
    }

    @Test(arguments: ["", "le", "i1e", "d5:added", "d5:added6:abcdefe trailing"])
    func malformedMessagesThrow(_ text: String) {
        #expect(throws: ExtensionMessageError.self) { try PexMessage(decoding: Array(text.utf8)) }
    }
}

/// The metadata pieces in flight, as a value.
@Suite(.timeLimit(.minutes(5))) struct MetadataAssemblyTests {
    let now = ContinuousClock.now

    @Test func piecesGoToSeveralPeersAndAssemble() throws {
        let size = 2 * 16_384 + 100
        var assembly = try #require(MetadataAssembly(size: size))
        #expect(assembly.pieceCount == 3)
        #expect(assembly.nextRequest(for: 1, now: now) == 0)
        #expect(assembly.nextRequest(for: 2, now: now) == 1)
        #expect(assembly.nextRequest(for: 1, now: now) == 2)
        #expect(assembly.nextRequest(for: 2, now: now) == nil)
        #expect(try !assembly.receive(piece: 1, bytes: Array(repeating: 1, count: 16_384), from: 2))
        #expect(try !assembly.receive(piece: 0, bytes: Array(repeating: 0, count: 16_384), from: 1))
        #expect(try assembly.receive(piece: 2, bytes: Array(repeating: 2, count: 100), from: 1))
        let bytes = assembly.assembled()
        #expect(bytes.count == size)
        #expect(bytes[16_384] == 1 && bytes[size - 1] == 2)
        #expect(assembly.contributors == [1, 2])
    }

    @Test func unrequestedOrMisshapenPiecesAreTheSendersFault() throws {
        var assembly = try #require(MetadataAssembly(size: 20_000))
        #expect(throws: ExtensionMessageError.self) {
            try assembly.receive(piece: 0, bytes: Array(repeating: 0, count: 16_384), from: 1)
        }
        _ = assembly.nextRequest(for: 1, now: now)
        _ = assembly.nextRequest(for: 1, now: now)
        #expect(throws: ExtensionMessageError.self) {
            try assembly.receive(piece: 1, bytes: Array(repeating: 0, count: 16_384), from: 1)
        }
        #expect(throws: ExtensionMessageError.self) {
            try assembly.receive(piece: 5, bytes: [], from: 1)
        }
    }

    @Test func rejectedAndExpiredPiecesAreAskedAgain() throws {
        var assembly = try #require(MetadataAssembly(size: 30_000))
        #expect(assembly.nextRequest(for: 1, now: now) == 0)
        #expect(assembly.nextRequest(for: 1, now: now) == 1)
        assembly.rejected(piece: 0, by: 1)
        #expect(assembly.nextRequest(for: 2, now: now) == 0)
        #expect(assembly.expire(now: now + .seconds(11), timeout: .seconds(10)).sorted() == [1, 2])
        #expect(assembly.nextRequest(for: 3, now: now) == 0)
        // A late answer from the slow peer is still taken.
        #expect(try !assembly.receive(piece: 1, bytes: Array(repeating: 0, count: 30_000 - 16_384), from: 1))
        assembly.peerGone(3)
        #expect(assembly.nextRequest(for: 2, now: now) == 0)
    }

    @Test func singleSourceAsksOnlyThatPeer() throws {
        var assembly = try #require(MetadataAssembly(size: 100, singleSource: 4))
        #expect(assembly.nextRequest(for: 1, now: now) == nil)
        #expect(assembly.nextRequest(for: 4, now: now) == 0)
    }

    @Test(arguments: [0, -1, MetadataMessage.maxMetadataSize + 1])
    func sizesOutOfBoundsAreRefused(_ size: Int) {
        #expect(MetadataAssembly(size: size) == nil)
    }

    @Test func fetchedInfoBecomesATorrentWithTheMagnetsTrackers() throws {
        let fixture = SessionFixture(length: 100_000, pieceLength: 16_384)
        let trackers = ["http://127.0.0.1:1/announce", "udp://127.0.0.1:2/announce"]
        let metainfo = try Metainfo(fetchedInfo: fixture.metainfo.infoBytes, trackers: trackers)
        #expect(metainfo.infoHashes == fixture.metainfo.infoHashes)
        #expect(metainfo.trackerTiers == [[trackers[0]], [trackers[1]]])
        #expect(metainfo.infoHashes.matches(info: metainfo.infoBytes))
        #expect(!metainfo.infoHashes.matches(info: metainfo.infoBytes + [0]))
        #expect(throws: (any Error).self) { try Metainfo(fetchedInfo: Array("d4:name1:xe".utf8), trackers: []) }
    }
}
