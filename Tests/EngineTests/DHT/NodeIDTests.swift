import Testing

@testable import Engine

/// Node ids: bytes, XOR distance, shared prefixes, and BEP 42's ids tied to addresses.
@Suite(.timeLimit(.minutes(1))) struct NodeIDTests {
    static func id(_ hex: String) -> NodeID {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return NodeID(bytes)!
    }

    @Test func bytesDistanceAndPrefixes() {
        let zero = NodeID(high: 0, middle: 0, low: 0)
        let one = Self.id("0000000000000000000000000000000000000001")
        let top = Self.id("8000000000000000000000000000000000000000")
        #expect(one.bytes == [UInt8](repeating: 0, count: 19) + [1])
        #expect(zero.commonPrefixLength(with: zero) == 160)
        #expect(zero.commonPrefixLength(with: one) == 159)
        #expect(zero.commonPrefixLength(with: top) == 0)
        #expect(top.bit(0) && !top.bit(1) && one.bit(159))
        #expect(one.distance(to: zero) < top.distance(to: zero))
        #expect(NodeID(top.bytes) == top)
        #expect(NodeID([1, 2, 3]) == nil)
        #expect(one.description == "0000000000000000000000000000000000000001")
    }

    /// The table of BEP 42: address, random byte, and a node id made for them.
    static let vectors: [([UInt8], UInt8, String)] = [
        ([124, 31, 75, 21], 1, "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"),
        ([21, 75, 31, 124], 86, "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"),
        ([65, 23, 51, 170], 22, "a5d43220bc8f112a3d426c84764f8c2a1150e616"),
        ([84, 124, 73, 14], 65, "1b0321dd1bb1fe518101ceef99462b947a01ff41"),
        ([43, 213, 53, 83], 90, "e56f6cbf5b7c4be0237986d5243b87aa6d51305a"),
    ]

    @Test func theExamplesOfBEP42AreValidAndMadeAlike() {
        for (address, random, hex) in Self.vectors {
            let id = Self.id(hex)
            #expect(SecureNodeID.isValid(id, for: address), "\(hex)")
            #expect(SecureNodeID.make(for: address, random: random, filler: id) == id)
            var forged = id.bytes
            forged[0] ^= 0x40
            #expect(!SecureNodeID.isValid(NodeID(forged)!, for: address))
        }
        // A made id is valid for its address, and not for another.
        let made = SecureNodeID.make(for: [8, 8, 4, 4], random: 0x33)!
        #expect(SecureNodeID.isValid(made, for: [8, 8, 4, 4]))
        #expect(!SecureNodeID.isValid(made, for: [9, 9, 9, 9]))
    }

    @Test func localAddressesMayUseAnyID() {
        let any = NodeID.random()
        for address: [UInt8] in [
            [127, 0, 0, 1], [10, 1, 2, 3], [192, 168, 1, 1], [172, 20, 0, 1], [169, 254, 3, 3],
        ] {
            #expect(SecureNodeID.isValid(any, for: address))
        }
        #expect(SecureNodeID.isExempt([UInt8](repeating: 0, count: 15) + [1]))
        #expect(!SecureNodeID.isExempt([172, 32, 0, 1]))
    }

    @Test func crc32cMatchesItsCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }
}
