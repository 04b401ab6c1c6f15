import Testing

@testable import Engine

/// KRPC's codec against BEP 5's own examples, round trips, and packets built to cost too much.
@Suite(.timeLimit(.minutes(1))) struct KRPCMessageTests {
    static let a = NodeID(Array("abcdefghij0123456789".utf8))!
    static let m = NodeID(Array("mnopqrstuvwxyz123456".utf8))!

    static func decode(_ text: String) throws -> KRPCMessage {
        try KRPCMessage(decoding: Array(text.utf8))
    }

    /// BEP 5's examples. Its `get_peers` answer with `values` has its id cut to 17 bytes in the BEP's
    /// text; here it has the full 20.
    @Test(arguments: [
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
        "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re",
        "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee",
        "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe",
        "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe",
        "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re",
        "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e"
            + "5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe",
    ])
    func theExamplesOfBEP5DecodeAndEncodeBackByteForByte(_ text: String) throws {
        let message = try Self.decode(text)
        #expect(message.transaction == Array("aa".utf8))
        #expect(message.encoded == Array(text.utf8))
    }

    @Test func queriesCarryWhatTheyAsk() throws {
        let ping = try Self.decode("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe")
        #expect(ping.body == .query(KRPCQuery(sender: Self.a, method: .ping)))
        let announce = try Self.decode(
            "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e"
                + "5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe")
        #expect(
            announce.body
                == .query(
                    KRPCQuery(
                        sender: Self.a,
                        method: .announcePeer(
                            infoHash: Self.m, port: 6881, token: Array("aoeusnth".utf8), impliedPort: true))))
        let error = try Self.decode("d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee")
        #expect(error.body == .error(code: 201, message: "A Generic Error Ocurred"))
    }

    @Test func aGetPeersAnswerGivesPeersAndAToken() throws {
        let answer = try Self.decode(
            "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re")
        guard case .response(let response) = answer.body else {
            Issue.record("a response")
            return
        }
        #expect(response.token == Array("aoeusnth".utf8))
        #expect(response.values.map(\.description) == ["97.120.106.101:11893", "105.100.104.116:28269"])
    }

    @Test func nodesOfBothFamiliesRoundTrip() throws {
        let v4 = DHTNode(id: Self.m, address: PeerAddress(host: .ipv4(127, 0, 0, 2), port: 6881))
        let v6 = DHTNode(id: Self.a, address: PeerAddress(host: .ipv6([UInt8](repeating: 0, count: 15) + [1]), port: 7))
        let message = KRPCMessage(
            transaction: [1, 2], body: .response(KRPCResponse(sender: Self.a, nodes: [v4], nodes6: [v6])),
            version: Array("BQ01".utf8), readOnly: true, requester: PeerAddress(host: .ipv4(10, 0, 0, 1), port: 9))
        #expect(try KRPCMessage(decoding: message.encoded) == message)
    }

    @Test func textThatIsNotUTF8EncodesToTextThatDecodesTheSame() throws {
        // An error text of 300 bytes that are not UTF-8: kept cut to the cap, stable through a round trip.
        let text = [UInt8](repeating: 0xff, count: 300)
        let packet = Array("d1:eli201e300:".utf8) + text + Array("e1:t2:aa1:y1:ee".utf8)
        let message = try KRPCMessage(decoding: packet)
        guard case .error(_, let kept) = message.body else {
            Issue.record("an error")
            return
        }
        #expect(kept.utf8.count <= KRPCMessage.Limits.maxErrorText)
        #expect(try KRPCMessage(decoding: message.encoded) == message)
        let name =
            Array("d1:ad2:id20:abcdefghij0123456789e1:q30:".utf8) + [UInt8](repeating: 0xfe, count: 30)
            + Array("1:t1:z1:y1:qe".utf8)
        let query = try KRPCMessage(decoding: name)
        #expect(try KRPCMessage(decoding: query.encoded) == query)
    }

    @Test func unknownMethodsAreKeptToBeAnsweredWithAnError() throws {
        let query = try Self.decode("d1:ad2:id20:abcdefghij0123456789e1:q6:vote_x1:t1:z1:y1:qe")
        #expect(query.body == .query(KRPCQuery(sender: Self.a, method: .unknown("vote_x"))))
    }

    @Test func hostilePacketsAreRefusedWithTypedErrors() {
        func error(_ bytes: [UInt8]) -> KRPCError? {
            do {
                _ = try KRPCMessage(decoding: bytes)
                return nil
            } catch {
                return error
            }
        }
        #expect(error([UInt8](repeating: 0x64, count: 5_000)) == .tooLarge(5_000))
        #expect(error(Array("li1ee".utf8)) == .malformed("not a dictionary"))
        #expect(
            error(Array(String(repeating: "l", count: 50).utf8)).map { if case .malformed = $0 { true } else { false } }
                == true)
        #expect(error(Array("d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe".utf8)) == .invalidField("id"))
        #expect(error(Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe".utf8)) == .invalidField("t"))
        let longTransaction =
            "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t40:" + String(repeating: "x", count: 40)
            + "1:y1:qe"
        #expect(error(Array(longTransaction.utf8)) == .invalidField("t"))
        let noPort =
            "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti0e5:token1:xe1:q13:announce_peer1:t2:aa1:y1:qe"
        #expect(error(Array(noPort.utf8)) == .invalidField("port"))
    }

    @Test func aFloodOfNodesIsCutAtTheCap() throws {
        // 150 entries of 26 bytes: within the packet size, over the cap.
        var nodes: [UInt8] = []
        for index in 0..<150 { nodes += Self.m.bytes + [127, 0, 0, UInt8(index % 250 + 1), 0x1a, 0xe1] }
        let packet =
            Array("d1:rd2:id20:abcdefghij01234567895:nodes\(nodes.count):".utf8) + nodes + Array("e1:t2:aa1:y1:re".utf8)
        let message = try KRPCMessage(decoding: packet)
        guard case .response(let response) = message.body else {
            Issue.record("a response")
            return
        }
        #expect(response.nodes.count == KRPCMessage.Limits.maxNodes)
    }
}
