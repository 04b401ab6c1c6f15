import Testing

@testable import Engine

@Suite(.timeLimit(.minutes(5))) struct BencodeTests {
    private func decode(_ text: String, keyOrder: BencodeDecoder.KeyOrder = .strict) throws -> BencodeNode {
        try BencodeDecoder(keyOrder: keyOrder).decode(Array(text.utf8))
    }

    private func error(_ text: String, keyOrder: BencodeDecoder.KeyOrder = .strict) -> BencodeError? {
        do {
            _ = try BencodeDecoder(keyOrder: keyOrder).decode(Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        ("i0e", Int64(0)), ("i42e", 42), ("i-42e", -42), ("i9223372036854775807e", .max),
        ("i-9223372036854775808e", .min),
    ])
    func integers(text: String, value: Int64) throws {
        let node = try decode(text)
        #expect(node.integer == value)
        #expect(node.span == 0..<text.utf8.count)
        #expect(BencodeEncoder().encode(node.plainValue) == Array(text.utf8))
    }

    @Test func stringsListsAndDictionaries() throws {
        let text = "d3:bar4:spam3:fooi42e4:listl0:1:ai-1eee"
        let node = try decode(text)
        #expect(node["bar"]?.string == "spam")
        #expect(node["foo"]?.integer == 42)
        let list = try #require(node["list"]?.list)
        #expect(list.map(\.span) == [28..<30, 30..<33, 33..<37])
        #expect(list[0].bytes?.isEmpty == true)
        #expect(list[1].string == "a")
        #expect(node["missing"] == nil)
        #expect(node.isCanonical)
        // The span of a nested value is exactly its bytes, the way the info dictionary is hashed.
        let bytes = Array(text.utf8)
        #expect(String(decoding: bytes[try #require(node["list"]).span], as: UTF8.self) == "l0:1:ai-1ee")
    }

    /// Each malformed input fails with its code, at the offset of the offending byte.
    @Test(arguments: [
        ("", BencodeError.Code.unexpectedEnd, 0),
        ("i", .unexpectedEnd, 1),
        ("ie", .invalidInteger, 1),
        ("i-e", .invalidInteger, 2),
        ("i03e", .invalidInteger, 1),
        ("i-0e", .invalidInteger, 2),
        ("i-03e", .invalidInteger, 2),
        ("i1x2e", .invalidInteger, 2),
        ("i9223372036854775808e", .integerOverflow, 0),
        ("i-9223372036854775809e", .integerOverflow, 0),
        ("i99999999999999999999999e", .integerOverflow, 0),
        ("01:a", .invalidStringLength, 0),
        ("3:ab", .stringTooLong, 0),
        ("3x:abc", .invalidStringLength, 1),
        ("4611686018427387904:x", .stringTooLong, 0),
        ("x", .unexpectedByte, 0),
        ("l", .unexpectedEnd, 1),
        ("li1e", .unexpectedEnd, 4),
        ("di1ei2ee", .nonStringKey, 1),
        ("d1:ae", .missingValue, 4),
        ("d1:bi1e1:ai2ee", .unsortedKeys, 7),
        ("d1:ai1e1:ai2ee", .duplicateKey, 7),
        ("i1ei2e", .trailingData, 3),
        ("e", .unexpectedByte, 0),
    ])
    func malformedInput(text: String, code: BencodeError.Code, offset: Int) {
        let failure = error(text)
        #expect(failure?.code == code, "\(text)")
        #expect(failure?.offset == offset, "\(text)")
    }

    @Test func lenientKeyOrderRecordsNonCanonicalDictionaries() throws {
        let node = try decode("d4:infod1:bi1e1:ai2e1:ai3ee1:zi0ee", keyOrder: .lenient)
        #expect(!node.isCanonical)
        let info = try #require(node["info"])
        #expect(!info.isCanonical)
        #expect(info["a"]?.integer == 2, "the first of two repeated keys wins")
        #expect(node["z"]?.isCanonical == true)
        #expect(error("d1:bi1e1:ai2ee", keyOrder: .lenient) == nil)
    }

    @Test func depthLimit() throws {
        let limits = BencodeDecoder.Limits.default
        let deepest = String(repeating: "l", count: limits.maxDepth) + String(repeating: "e", count: limits.maxDepth)
        #expect(try decode(deepest).list != nil)
        let tooDeep = "l" + deepest + "e"
        #expect(error(tooDeep)?.code == .depthExceeded)
        #expect(error(tooDeep)?.offset == limits.maxDepth)
        // A million levels fail quickly and without touching the thread's stack.
        #expect(error(String(repeating: "l", count: 1_000_000))?.code == .depthExceeded)
    }

    @Test func sizeLimits() {
        let small = BencodeDecoder.Limits(maxDepth: 10, maxElements: 3, maxStringLength: 4, maxInputLength: 16)
        let decoder = BencodeDecoder(limits: small)
        #expect(throws: BencodeError(.tooManyElements, at: 7)) { try decoder.decode(Array("li1ei2ei3ee".utf8)) }
        #expect(throws: BencodeError(.stringTooLong, at: 0)) { try decoder.decode(Array("5:abcde".utf8)) }
        #expect(throws: BencodeError(.inputTooLarge, at: 16)) {
            try decoder.decode(Array(repeating: UInt8(ascii: "l"), count: 17))
        }
    }

    /// Offsets and spans of a slice are indices of the slice (those of the underlying array).
    @Test func decodesSlicesInPlace() throws {
        let bytes = Array("xxd1:ai1eeyy".utf8)
        let node = try BencodeDecoder().decode(bytes[2..<10])
        #expect(node.span == 2..<10)
        #expect(node.entries?.first?.key.startIndex == 5)
        let prefix = try BencodeDecoder().decodePrefix(bytes[2...])
        #expect(prefix.span == 2..<10)
        #expect(throws: BencodeError(.trailingData, at: 10)) { try BencodeDecoder().decode(bytes[2...]) }
    }

    @Test func encoderSortsKeysAndRoundTrips() throws {
        let value: BencodeValue = [
            "zeta": 1, "alpha": ["x", -3, ["nested": ""]], "mid": .string([0, 255, 10]),
        ]
        let bytes = value.encoded
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("d5:alphal1:xi-3ed6:nested0:ee3:mid3:"))
        let node = try BencodeDecoder().decode(bytes)
        #expect(node.isCanonical)
        #expect(node.plainValue == value)
    }

    /// Decoding then encoding canonical input gives back the exact bytes: every canonical corpus file.
    @Test func corpusRoundTrip() throws {
        var canonical = 0
        for bytes in ConformanceCorpus.allTorrents {
            guard let node = try? BencodeDecoder(keyOrder: .lenient).decodePrefix(bytes), node.isCanonical else {
                continue
            }
            #expect(BencodeEncoder().encode(node.plainValue) == Array(bytes[node.span]))
            canonical += 1
        }
        #expect(canonical > 80)
    }

    /// Seeded random values survive encode -> decode -> encode unchanged.
    @Test func randomRoundTrips() throws {
        var random = SplitMix64(seed: 7)
        for _ in 0..<2000 {
            let value = Self.randomValue(&random, depth: 0)
            let bytes = value.encoded
            let node = try BencodeDecoder().decode(bytes)
            #expect(node.plainValue == value)
            #expect(BencodeEncoder().encode(node.plainValue) == bytes)
        }
    }

    static func randomValue(_ random: inout SplitMix64, depth: Int) -> BencodeValue {
        switch random.next(below: depth > 4 ? 2 : 4) {
        case 0: return .integer(Int64(bitPattern: random.next()) >> random.next(below: 64))
        case 1: return .string((0..<random.next(below: 12)).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        case 2: return .list((0..<random.next(below: 5)).map { _ in randomValue(&random, depth: depth + 1) })
        default:
            var dictionary: [[UInt8]: BencodeValue] = [:]
            for _ in 0..<random.next(below: 5) {
                let key = (0..<random.next(below: 4)).map { _ in UInt8(ascii: "a") + UInt8(random.next(below: 3)) }
                dictionary[key] = randomValue(&random, depth: depth + 1)
            }
            return .dictionary(dictionary)
        }
    }
}
