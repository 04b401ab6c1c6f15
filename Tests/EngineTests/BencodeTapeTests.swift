import Testing

@testable import Engine

/// The flat decoder: one 8-byte token per value, navigated in place (see `BencodeTape`).
@Suite(.timeLimit(.minutes(5))) struct BencodeTapeTests {
    private func decode(
        _ text: String, keyOrder: BencodeDecoder.KeyOrder = .strict, limits: BencodeDecoder.Limits = .default
    ) throws(BencodeError) -> BencodeNode {
        try BencodeDecoder(limits: limits, keyOrder: keyOrder).decode(Array(text.utf8))
    }

    private func failure(
        _ text: String, keyOrder: BencodeDecoder.KeyOrder = .strict, limits: BencodeDecoder.Limits = .default
    ) -> BencodeError? {
        do {
            _ = try decode(text, keyOrder: keyOrder, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func oneTokenOfEightBytesPerValue() throws {
        #expect(MemoryLayout<BencodeTape.Token>.stride == 8)
        // d, key, i, key, l, 0:, 1:a, i-1e, key, d, key, le: 12 values.
        let node = try decode("d1:ai1e1:bl0:1:ai-1ee1:cd1:dleee")
        #expect(node.tape.tokens.count == 12)
        #expect(node.index == 0)
    }

    /// Siblings are found past nested containers of any size, and every span is exact.
    @Test func navigatesPastNestedValues() throws {
        let nested = String(repeating: "l", count: 50) + "i7e" + String(repeating: "e", count: 50)
        let text = "d1:a\(nested)1:bd1:xli1ei2eee1:ci3ee"
        let node = try decode(text)
        let bytes = Array(text.utf8)
        #expect(node["c"]?.integer == 3)
        #expect(node["b"]?["x"]?.list?.compactMap(\.integer) == [1, 2])
        let a = try #require(node["a"])
        #expect(Array(bytes[a.span]) == Array(nested.utf8))
        #expect(a.count == 1 && a.isList)
        #expect(node.count == 3)
        #expect(node.entries?.map { String(decoding: $0.key, as: UTF8.self) } == ["a", "b", "c"])
        #expect(node["a"]?["x"] == nil, "a list has no keys")
        #expect(node["c"]?.count == 0)
    }

    @Test func itemsAreLazyAndEmptyForNonLists() throws {
        let node = try decode("d1:ali1ei2ei3ee1:bi4ee")
        #expect(Array(try #require(node["a"]).items).compactMap(\.integer) == [1, 2, 3])
        #expect(Array(try #require(node["b"]).items).isEmpty)
        #expect(Array(node.items).isEmpty, "a dictionary is not a list")
        var items = try #require(node["a"]).items
        #expect(items.next()?.integer == 1)
        #expect(items.next()?.integer == 2)
    }

    /// Lists of a million values decode, and their last items and the keys after them are found.
    @Test func longListsAndTheirNeighbours() throws {
        let count = 1_000_000
        let text = "d1:al" + String(repeating: "i5e", count: count - 1) + "i9ee1:bi1ee"
        let node = try decode(text)
        #expect(node.tape.tokens.count == count + 5)
        #expect(node["b"]?.integer == 1)
        let list = try #require(node["a"])
        #expect(list.count == count)
        #expect(list.items.reduce(0) { $0 + Int($1.integer ?? 0) } == 5 * (count - 1) + 9)
    }

    /// Exactly `maxDepth` levels of dictionaries decode; one more is refused at the opening byte.
    @Test func deepNestingBounds() throws {
        for depth in [1, 2, 5, 100] {
            let limits = BencodeDecoder.Limits(
                maxDepth: depth, maxElements: 1000, maxStringLength: 100, maxInputLength: 10_000)
            let deepest =
                String(repeating: "d1:a", count: depth - 1) + "d1:bi0ee" + String(repeating: "e", count: depth - 1)
            let node = try decode(deepest, limits: limits)
            #expect(node.isCanonical)
            #expect(node.span == 0..<deepest.utf8.count)
            let tooDeep = String(repeating: "d1:a", count: depth) + "d1:bi0ee" + String(repeating: "e", count: depth)
            #expect(failure(tooDeep, limits: limits) == BencodeError(.depthExceeded, at: 4 * depth))
        }
        // Millions of levels are refused at once, without recursion.
        let hostile = String(repeating: "d1:a", count: 4_000_000)
        #expect(failure(hostile)?.code == .depthExceeded)
    }

    @Test func elementLimitIsExact() throws {
        let limits = BencodeDecoder.Limits(maxDepth: 10, maxElements: 5, maxStringLength: 10, maxInputLength: 100)
        #expect(try decode("li1ei2ei3ei4ee", limits: limits).count == 4)
        #expect(failure("li1ei2ei3ei4ei5ee", limits: limits) == BencodeError(.tooManyElements, at: 13))
        #expect(failure("d1:ai1e1:bi2e1:ci3ee", limits: limits) == BencodeError(.tooManyElements, at: 13))
        #expect(failure("llllllee", limits: limits) == BencodeError(.tooManyElements, at: 5))
    }

    /// Errors inside nested values carry the offset of the offending byte, as before the tape.
    @Test(arguments: [
        ("d1:ad1:bi1e1:ai2eee", BencodeError.Code.unsortedKeys, 11),
        ("ld1:ai1e1:ai2eee", .duplicateKey, 8),
        ("d1:ali1ei2ee1:ae", .duplicateKey, 12),
        ("ld1:aee", .missingValue, 5),
        ("d1:alxe", .unexpectedByte, 5),
        ("dd", .nonStringKey, 1),
        ("d1:ad", .unexpectedEnd, 5),
        ("l1:a", .unexpectedEnd, 4),
        ("ll5:abe", .stringTooLong, 2),
        ("li1e-", .unexpectedByte, 4),
        ("d1:a01:be", .invalidStringLength, 4),
        ("d1:ai1e2x", .invalidStringLength, 8),
        ("lle", .unexpectedEnd, 3),
    ])
    func nestedMalformedInput(text: String, code: BencodeError.Code, offset: Int) {
        #expect(failure(text) == BencodeError(code, at: offset), "\(text)")
    }

    /// A non-canonical dictionary marks itself and every value holding it, nothing else.
    @Test func canonicalFlagsPropagateUpOnly() throws {
        let node = try decode("d1:ad1:xd1:ci1e1:bi2eee1:zd1:ai1eee", keyOrder: .lenient)
        #expect(!node.isCanonical)
        #expect(node["a"]?.isCanonical == false)
        #expect(node["a"]?["x"]?.isCanonical == false)
        #expect(node["a"]?["x"]?["c"]?.isCanonical == true)
        #expect(node["z"]?.isCanonical == true)
        let repeated = try decode("d1:ai1e1:ai2e1:ai3ee", keyOrder: .lenient)
        #expect(repeated["a"]?.integer == 1, "the first of repeated keys wins")
        #expect(repeated.entries?.count == 3)
        #expect(repeated.plainValue == ["a": 3], "plain values keep the last, as they always did")
    }

    /// Every value of random inputs spans exactly the bytes that decode to it on their own.
    @Test func spansOfRandomValuesDecodeAlone() throws {
        var random = SplitMix64(seed: 11)
        for _ in 0..<500 {
            let bytes = BencodeTests.randomValue(&random, depth: 0).encoded
            let node = try BencodeDecoder().decode(bytes)
            var pending = [node]
            while let current = pending.popLast() {
                let alone = try BencodeDecoder().decode(Array(bytes[current.span]))
                #expect(alone.plainValue == current.plainValue)
                pending += current.list ?? current.entries?.map(\.value) ?? []
            }
        }
    }

    @Test func integersAtTheLimitsReadBack() throws {
        let node = try decode("li9223372036854775807ei-9223372036854775808ei0ei-1ee")
        #expect(node.list?.compactMap(\.integer) == [.max, .min, 0, -1])
        #expect(node.list?.first?.bytes == nil && node.list?.first?.string == nil)
    }

    /// With a tape depth, deeper containers hold one token each and are decoded again, alone, when
    /// navigation reaches them; what is read is the same as without a tape depth.
    @Test func sealedContainersReadTheSame() throws {
        var items = ""
        for index in 0..<1000 { items += "d6:lengthi\(index)e4:pathl1:a2:f\(index % 10)ee" }
        let text = "d4:infod5:filesl\(items)e4:name1:xee"
        let bytes = Array(text.utf8)
        let full = try BencodeDecoder().decode(bytes)
        let sealed = try BencodeDecoder(tapeDepth: 3).decode(bytes)
        // top, "info", info, "files", files, 1,000 sealed dictionaries, "name", "x".
        #expect(sealed.tape.tokens.count == 1007)
        #expect(full.tape.tokens.count == 1007 + 1000 * 6)
        let fullFiles = try #require(full["info"]?["files"])
        let sealedFiles = try #require(sealed["info"]?["files"])
        #expect(sealedFiles.count == 1000)
        for (plain, reopened) in zip(fullFiles.items, sealedFiles.items) {
            #expect(reopened.isDictionary)
            #expect(reopened.span == plain.span, "spans stay indices of the whole input")
            #expect(reopened["length"]?.integer == plain["length"]?.integer)
            #expect(reopened["path"]?.list?.compactMap(\.string) == plain["path"]?.list?.compactMap(\.string))
            #expect(reopened.tape.tokens.count == 7, "a reopened dictionary has a tape of its own")
        }
        #expect(sealedFiles.list?.count == 1000)
        #expect(sealed["info"]?["name"]?.string == "x")
        #expect(sealed["info"]?.lazyEntries.map { String(decoding: $0.key, as: UTF8.self) } == ["files", "name"])
    }

    /// A sealed container is checked as it is scanned: errors inside it, the element limit counted over
    /// its content, and its canonical flag reach the whole input as without a tape depth.
    @Test func sealedContainersAreChecked() throws {
        let sealing = BencodeDecoder(keyOrder: .strict, tapeDepth: 1)
        #expect(throws: BencodeError.self) { try sealing.decode(Array("d1:ald1:bi1e1:ai2eeee".utf8)) }
        #expect(throws: BencodeError.self) { try sealing.decode(Array("d1:ali01eee".utf8)) }
        let limits = BencodeDecoder.Limits(maxDepth: 10, maxElements: 6, maxStringLength: 100, maxInputLength: 1000)
        let tooMany = BencodeDecoder(limits: limits, tapeDepth: 1)
        #expect(throws: BencodeError.self) { try tooMany.decode(Array("d1:alli1ei2ei3eeee".utf8)) }
        #expect(try tooMany.decode(Array("d1:alli1ei2eeee".utf8))["a"]?.list?.first?.count == 2)
        let lenient = BencodeDecoder(keyOrder: .lenient, tapeDepth: 1)
        let unsorted = try lenient.decode(Array("d1:ald1:bi1e1:ai2eee1:ci3ee".utf8))
        #expect(!unsorted.isCanonical)
        #expect(unsorted["a"]?.isCanonical == false)
        #expect(unsorted["a"]?.list?.first?["a"]?.integer == 2)
        #expect(unsorted["c"]?.integer == 3)
        #expect(try lenient.decode(Array("d1:ald1:ai1eeee".utf8)).isCanonical)
    }

    /// The outcome of decoding `bytes`: the tokens (head and tail packed), or the error.
    private func outcome(_ bytes: [UInt8], _ decoder: BencodeDecoder) -> Result<[UInt64], BencodeError> {
        Result { () throws(BencodeError) in
            try decoder.decodePrefix(bytes).tape.tokens.map { UInt64($0.head) << 32 | UInt64($0.tail) }
        }
    }

    /// Checking the rest of the input ahead, after a number of tokens, changes no outcome: the same
    /// tokens for a valid input, the same error (code and offset) for a bad one, whatever the tape depth,
    /// key order and element limit.
    @Test func lookingAheadChangesNoOutcome() {
        var random = SplitMix64(seed: 29)
        let limits = BencodeDecoder.Limits(maxDepth: 6, maxElements: 40, maxStringLength: 100, maxInputLength: 4096)
        for round in 0..<600 {
            var bytes = BencodeTests.randomValue(&random, depth: 0).encoded
            // Two rounds in three are damaged: a byte changed, dropped or repeated.
            if round % 3 != 0, !bytes.isEmpty {
                let at = random.next(below: bytes.count)
                switch random.next(below: 3) {
                case 0: bytes[at] = Array("ield0:-9x".utf8)[random.next(below: 9)]
                case 1: bytes.remove(at: at)
                default: bytes.insert(bytes[at], at: at)
                }
            }
            for keyOrder in [BencodeDecoder.KeyOrder.strict, .lenient] {
                for tapeDepth in [nil, 1, 2] {
                    for limits in [.default, limits] {
                        let plain = BencodeDecoder(limits: limits, keyOrder: keyOrder, tapeDepth: tapeDepth)
                        let expected = outcome(bytes, plain)
                        for lookAhead in [1, 2, 5] {
                            var ahead = plain
                            ahead.lookAheadTokens = lookAhead
                            #expect(outcome(bytes, ahead) == expected, "\(bytes) after \(lookAhead) tokens")
                        }
                    }
                }
            }
        }
    }

    /// An input refused for its values costs the tokens recorded before the look-ahead, not one per value.
    @Test func aRefusedInputStopsRecordingAtTheLookAhead() throws {
        let limits = BencodeDecoder.Limits(
            maxDepth: 4, maxElements: 1000, maxStringLength: 100, maxInputLength: 1 << 20)
        for text in [
            "l" + String(repeating: "le", count: 5000) + "e", "d1:xl" + String(repeating: "i0e", count: 5000) + "ee",
        ] {
            let bytes = Array(text.utf8)
            var recorded = -1
            let thrown = bytes.withUnsafeBufferPointer { buffer -> BencodeError? in
                var scanner = BencodeScanner(
                    buffer: buffer, base: 0, limits: limits, strictKeyOrder: true, lookAheadTokens: 64)
                defer { recorded = scanner.tokens.count }
                do throws(BencodeError) {
                    try scanner.scanValue()
                    return nil
                } catch {
                    return error
                }
            }
            let error = try #require(thrown)
            #expect(error.code == .tooManyElements)
            #expect(recorded == 64)
            var plain = BencodeDecoder(limits: limits)
            #expect(throws: error) { try plain.decode(bytes) }
            plain.lookAheadTokens = .max
            #expect(throws: error) { try plain.decode(bytes) }
        }
    }
}
