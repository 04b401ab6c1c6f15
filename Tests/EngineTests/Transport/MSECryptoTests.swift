import Testing

@testable import Engine

/// RC4 against RFC 6229 and the 768-bit modular exponentiation against values computed apart
/// (Python's `pow`, and another client's published test).
@Suite struct MSECryptoTests {
    /// RFC 6229, section 2: key stream bytes at offsets 0, 16, 1024 and 1536 for two keys.
    @Test(arguments: [
        (
            "0102030405",
            [
                (0, "b2396305f03dc027ccc3524a0a1118a8"), (16, "6982944f18fc82d589c403a47a0d0919"),
                (1024, "30abbcc7c20b01609f23ee2d5f6bb7df"), (1536, "d8729db41882259bee4f825325f5a130"),
            ]
        ),
        (
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
            [
                (0, "eaa6bd25880bf93d3f5d1e4ca2611d91"), (16, "cfa45c9f7e714b54bdfa80027cb14380"),
                (1024, "7fec5bfd9f9b89ce6548309092d7e958"), (1536, "3e34135c79db010200767651cf263073"),
            ]
        ),
    ])
    func rc4MatchesRFC6229(key: String, vectors: [(Int, String)]) {
        for (offset, expected) in vectors {
            var cipher = RC4(key: MSEModulus.hexBytes(key))
            cipher.discard(offset)
            var bytes = [UInt8](repeating: 0, count: 16)
            cipher.apply(&bytes)
            #expect(bytes == MSEModulus.hexBytes(expected), "offset \(offset)")
        }
    }

    /// The buffer form gives the same key stream as the array form, across calls of any length.
    @Test func rc4BufferAndArrayAgree() {
        var a = RC4(key: [1, 2, 3, 4, 5])
        var b = a
        var whole = [UInt8](repeating: 0, count: 3000)
        a.apply(&whole)
        var pieces = [UInt8](repeating: 0, count: 3000)
        var start = 0
        for length in [1, 7, 1016, 1976] {
            pieces.withUnsafeMutableBytes {
                b.apply(UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + length]))
            }
            start += length
        }
        #expect(pieces == whole)
        #expect(Array(whole[1024..<1040]) == MSEModulus.hexBytes("30abbcc7c20b01609f23ee2d5f6bb7df"))
    }

    @Test func publicKeyMatchesAnIndependentComputation() {
        let keys = MSEKeys(privateKey: MSEModulus.hexBytes("0102030405060708090a0b0c0d0e0f1011121314"))
        #expect(
            keys.publicKey
                == MSEModulus.hexBytes(
                    "96e112dab29e8c5272accb9b17b26887ce54a144a4e3b697c7d159b7a817e556b0918db2b4c658e02a87f7e5fb14b18a"
                        + "553e084cbf3dad2d30f16596ccb982d406258c61b30c5c1dae2ddc60bdbd48d79896312aad63238c39e1a633821eb693"
                ))
    }

    /// Powers of two by doubling agree with the general exponentiation, for exponents with leading
    /// zeros, all ones, and random ones.
    @Test func powersOfTwoByDoublingAgree() {
        var two = [UInt8](repeating: 0, count: MSEKeys.keyLength)
        two[MSEKeys.keyLength - 1] = 2
        var random = SplitMix64(seed: 160)
        var exponents: [[UInt8]] = [
            [0], [1], [0, 0, 3], [UInt8](repeating: 0xFF, count: 20), [UInt8](repeating: 0xFF, count: 96),
        ]
        for _ in 0..<8 { exponents.append((0..<20).map { _ in UInt8(truncatingIfNeeded: random.next()) }) }
        for exponent in exponents {
            #expect(MSEModulus.prime.powerOfTwo(exponent) == MSEModulus.prime.power(two, exponent))
        }
    }

    @Test func bothSidesAgreeOnTheSecret() throws {
        let a = MSEKeys(privateKey: MSEModulus.hexBytes("0102030405060708090a0b0c0d0e0f1011121314"))
        let b = MSEKeys(privateKey: MSEModulus.hexBytes("ffeeddccbbaa99887766554433221100ffeeddcc"))
        let secret = try a.sharedSecret(with: b.publicKey)
        #expect(try b.sharedSecret(with: a.publicKey) == secret)
        #expect(
            secret
                == MSEModulus.hexBytes(
                    "94fa9334e1f5e01180c1b5dbfa92aa7d7fc5abda8969712aea110c233ad71c81a2e747cf64eb08f4cf4f61b93220fe27"
                        + "a45d5efc246952d93f3f3e74f37b355f51162885763ebfacc1db50958f924ff4bc87b7083b68d19e5f987326fa4db5c2"
                ))
        // Random keys agree too.
        let c = MSEKeys()
        let d = MSEKeys()
        #expect(c.privateKey.count == 20 && c.privateKey != d.privateKey)
        #expect(try c.sharedSecret(with: d.publicKey) == d.sharedSecret(with: c.publicKey))
    }

    @Test func degenerateKeysAreRefused() {
        let keys = MSEKeys()
        let prime = MSEModulus.bigEndian(MSEModulus.prime.limbs)
        var pMinusOne = prime
        pMinusOne[95] -= 1
        var one = [UInt8](repeating: 0, count: 96)
        one[95] = 1
        for bad in [[UInt8](repeating: 0, count: 96), one, pMinusOne, prime, [UInt8](repeating: 0xFF, count: 96), [2]] {
            #expect(throws: MSEError.invalidPublicKey) { try keys.sharedSecret(with: bad) }
        }
    }
}

/// What a handshake's Diffie-Hellman costs: under a flood of encrypted handshakes each one costs the
/// responder two exponentiations (its key, the secret).
@Suite struct MSEExponentiationCostTests {
    @Test func twoExponentiationsPerHandshakeAreCheap() throws {
        let clock = ContinuousClock()
        let peer = MSEKeys()
        let rounds = 20
        var secrets = Set<[UInt8]>()
        let elapsed = try clock.measure {
            for _ in 0..<rounds {
                let keys = MSEKeys()
                secrets.insert(try keys.sharedSecret(with: peer.publicKey))
            }
        }
        #expect(secrets.count == rounds, "fresh keys give fresh secrets")
        let perHandshake = elapsed / rounds
        print("[mse] one handshake's two exponentiations: \(perHandshake) (debug build)")
        // Generous for a debug build on a shared machine; a release build is several times faster.
        #expect(perHandshake < .milliseconds(200))
    }
}
