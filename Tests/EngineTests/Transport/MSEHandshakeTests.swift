import Synchronization
import Testing

@testable import Engine

/// Our initiator against our responder, in memory: both outcomes, every way of cutting the bytes,
/// every truncation point, and each malformed field refused with its error.
@Suite struct MSEHandshakeTests {
    static let infoHash = [UInt8](repeating: 0xAB, count: 20)
    static let otherHash = [UInt8](repeating: 0x11, count: 20)
    /// What the layer above writes first on the dialling side: a BitTorrent handshake's 68 bytes.
    static let ourHandshake = MSEHandshake.plaintextPrefix + [UInt8](repeating: 7, count: 48)

    /// The two results of a handshake run to its end.
    struct Run {
        var initiator: MSEHandshake.Outcome
        var responder: MSEHandshake.Outcome
    }

    static func responder(
        methods: MSEMethods = [.plaintext, .rc4], plaintextAllowed: Bool = true, padding: Int = 37
    ) -> MSEHandshake {
        .responder(
            infoHashes: { [otherHash, infoHash] }, methods: methods, plaintextAllowed: plaintextAllowed,
            padding: { padding })
    }

    static func initiator(methods: MSEMethods = [.plaintext, .rc4], padding: Int = 200) -> MSEHandshake {
        .initiator(infoHash: infoHash, methods: methods, padding: { padding })
    }

    /// Runs both machines to the end, passing bytes across in chunks of `chunk` bytes (0: all at once).
    static func run(
        _ a: MSEHandshake, _ b: MSEHandshake, chunk: Int = 0, pending: [UInt8] = ourHandshake
    ) throws -> Run {
        var a = a
        var b = b
        var pending = pending
        var none: [UInt8] = []
        var toB = a.start()
        var toA: [UInt8] = []
        var outcomeA: MSEHandshake.Outcome?
        var outcomeB: MSEHandshake.Outcome?
        var rounds = 0
        while outcomeA == nil || outcomeB == nil {
            rounds += 1
            #expect(rounds < 10_000, "the handshake makes progress")
            guard rounds < 10_000 else { break }
            if outcomeB == nil, !toB.isEmpty {
                let size = chunk == 0 ? toB.count : min(chunk, toB.count)
                let step = try b.receive(Array(toB.prefix(size)), pending: &none)
                toB.removeFirst(size)
                toA += step.send
                if let outcome = step.outcome {
                    outcomeB = outcome
                    #expect(toB.isEmpty || chunk != 0, "nothing left over")
                }
            } else if outcomeA == nil, !toA.isEmpty {
                let size = chunk == 0 ? toA.count : min(chunk, toA.count)
                let step = try a.receive(Array(toA.prefix(size)), pending: &pending)
                toA.removeFirst(size)
                toB += step.send
                if let outcome = step.outcome { outcomeA = outcome }
            } else {
                Issue.record("both sides wait: a stalled handshake")
                break
            }
        }
        // What follows the handshake on each side (bytes that arrived with its last read) is stream data.
        if var outcomeB, !toB.isEmpty {
            var rest = toB
            outcomeB.decryptor?.apply(&rest)
            outcomeB.received += rest
            return Run(initiator: outcomeA!, responder: outcomeB)
        }
        return Run(initiator: outcomeA!, responder: outcomeB!)
    }

    @Test(arguments: [0, 1, 7, 96, 500])
    func rc4BothWays(chunk: Int) throws {
        let result = try Self.run(Self.initiator(methods: .rc4), Self.responder(), chunk: chunk)
        #expect(result.initiator.security == .rc4 && result.responder.security == .rc4)
        #expect(result.responder.infoHash == Self.infoHash)
        #expect(result.responder.received == Self.ourHandshake, "the initial payload arrives decrypted")
        #expect(result.initiator.received.isEmpty)
        // The stream goes on: each side's encryptor feeds the other's decryptor.
        var a = result.initiator
        var b = result.responder
        for length in [1, 68, 16397, 3] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 31) }
            var wire = message
            a.encryptor!.apply(&wire)
            #expect(wire != message || length < 2)
            b.decryptor!.apply(&wire)
            #expect(wire == message)
            var back = message
            b.encryptor!.apply(&back)
            a.decryptor!.apply(&back)
            #expect(back == message)
        }
    }

    @Test func plaintextPayloadWhenThatIsAllOneSideTakes() throws {
        let offerPlain = try Self.run(Self.initiator(methods: .plaintext), Self.responder())
        #expect(offerPlain.initiator.security == .plaintextMSE && offerPlain.responder.security == .plaintextMSE)
        #expect(offerPlain.initiator.encryptor == nil && offerPlain.responder.decryptor == nil)
        #expect(offerPlain.responder.received == Self.ourHandshake, "the initial payload is decrypted all the same")
        let acceptPlain = try Self.run(Self.initiator(), Self.responder(methods: .plaintext))
        #expect(acceptPlain.initiator.security == .plaintextMSE)
    }

    /// The answering side under `prefer` picks a plaintext payload when the initiator offers both (as
    /// libtorrent does with prefer_rc4 off), RC4 when RC4 is all the initiator offers, and a side that
    /// accepts only RC4 (`require`) still gets RC4 from an initiator offering both.
    @Test func responderPrefersPlaintextWhenBothAreOffered() throws {
        let both = try Self.run(Self.initiator(), Self.responder())
        #expect(both.initiator.security == .plaintextMSE && both.responder.security == .plaintextMSE)
        #expect(both.initiator.encryptor == nil && both.responder.decryptor == nil)
        #expect(both.responder.received == Self.ourHandshake)
        let rc4Only = try Self.run(Self.initiator(methods: .rc4), Self.responder())
        #expect(rc4Only.initiator.security == .rc4 && rc4Only.responder.security == .rc4)
        let requiring = try Self.run(Self.initiator(), Self.responder(methods: .rc4, plaintextAllowed: false))
        #expect(requiring.initiator.security == .rc4 && requiring.responder.security == .rc4)
    }

    @Test func noCommonMethod() {
        #expect(throws: MSEError.noCommonMethod(offered: 1)) {
            try Self.run(Self.initiator(methods: .plaintext), Self.responder(methods: .rc4))
        }
    }

    @Test(arguments: [0, 1, 511, 512])
    func paddingsInRange(padding: Int) throws {
        let result = try Self.run(
            Self.initiator(methods: .rc4, padding: padding), Self.responder(padding: padding), chunk: 64)
        #expect(result.responder.security == .rc4 && result.responder.received == Self.ourHandshake)
    }

    @Test(arguments: [0, 1, 8, 9, 512])
    func randomBytesAreFreshAndAsMany(count: Int) {
        let first = MSEHandshake.randomBytes(count)
        let second = MSEHandshake.randomBytes(count)
        #expect(first.count == count && second.count == count)
        // Equal by chance once in 2^64 at 8 bytes or more.
        if count >= 8 { #expect(first != second) }
    }

    /// PadA past 512 puts req1 out of the window the responder searches.
    @Test func paddingPastTheLimitLosesSynchronisation() {
        #expect(throws: MSEError.synchronisationNotFound(searched: 532)) {
            try Self.run(Self.initiator(padding: 513), Self.responder())
        }
        #expect(throws: MSEError.synchronisationNotFound(searched: 520)) {
            try Self.run(Self.initiator(), Self.responder(padding: 513))
        }
    }

    /// The key pair, an exponentiation, is made when the handshake first needs it: not for a dial that
    /// never connects (the machine is made with the connection's pipeline), nor for a peer that answers in
    /// plaintext; once for a handshake that uses it.
    @Test func theKeyPairIsMadeAtItsFirstUse() throws {
        let made = Atomic<Int>(0)
        let counted: @Sendable () -> MSEKeys = {
            made.add(1, ordering: .relaxed)
            return MSEKeys()
        }
        var initiator = MSEHandshake.initiator(infoHash: Self.infoHash, methods: .rc4, keys: counted())
        var responder = MSEHandshake.responder(
            infoHashes: { [Self.infoHash] }, methods: [.plaintext, .rc4], plaintextAllowed: true, keys: counted())
        #expect(made.load(ordering: .relaxed) == 0)
        var none: [UInt8] = []
        let plain = try responder.receive(Self.ourHandshake, pending: &none)
        #expect(plain.outcome?.security == .plain)
        #expect(made.load(ordering: .relaxed) == 0, "a plaintext peer costs no key pair")
        let ya = initiator.start()
        #expect(made.load(ordering: .relaxed) == 1)
        var fresh = MSEHandshake.responder(
            infoHashes: { [Self.infoHash] }, methods: [.plaintext, .rc4], plaintextAllowed: true, keys: counted())
        var ours = Self.ourHandshake
        let reply = try fresh.receive(ya, pending: &none).send
        let step3 = try initiator.receive(reply, pending: &ours).send
        #expect(try fresh.receive(step3, pending: &none).outcome?.security == .rc4)
        #expect(made.load(ordering: .relaxed) == 2, "one key pair a side, made once")
    }

    @Test func unknownTorrent() {
        let stranger = MSEHandshake.initiator(infoHash: [UInt8](repeating: 0x42, count: 20), methods: .rc4)
        #expect(throws: MSEError.unknownInfoHash) { try Self.run(stranger, Self.responder()) }
    }

    /// Every prefix of each side's bytes leaves the other side waiting (no outcome, no error), and the
    /// rest then completes it: the machine never needs more than it was sent, nor decides early.
    @Test func everyTruncationPointWaits() throws {
        let keysA = MSEKeys()
        let keysB = MSEKeys()
        func initiator() -> MSEHandshake {
            .initiator(infoHash: Self.infoHash, methods: [.plaintext, .rc4], keys: keysA, padding: { 100 })
        }
        func responder() -> MSEHandshake {
            .responder(
                infoHashes: { [Self.infoHash] }, methods: [.plaintext, .rc4], plaintextAllowed: true, keys: keysB,
                padding: { 100 })
        }
        var a = initiator()
        var b = responder()
        var none: [UInt8] = []
        var ours = Self.ourHandshake
        let ya = a.start()
        let reply = try b.receive(ya, pending: &none).send
        let step3 = try a.receive(reply, pending: &ours).send
        let last = try b.receive(step3, pending: &none)
        #expect(last.outcome?.security == .plaintextMSE)
        // The responder: the initiator's whole stream cut at each point.
        let whole = ya + step3
        for cut in 0..<whole.count {
            var fresh = responder()
            let first = try fresh.receive(Array(whole[..<cut]), pending: &none)
            #expect(first.outcome == nil && !fresh.isFinished, "no outcome after \(cut) of \(whole.count) bytes")
            let second = try fresh.receive(Array(whole[cut...]), pending: &none)
            #expect(second.outcome?.received == Self.ourHandshake, "cut at \(cut)")
        }
        // The initiator: the responder's stream cut at each point.
        let answer = reply + last.send
        for cut in 0..<answer.count {
            var fresh = initiator()
            _ = fresh.start()
            var again = Self.ourHandshake
            let first = try fresh.receive(Array(answer[..<cut]), pending: &again)
            #expect(first.outcome == nil && !fresh.isFinished, "no outcome after \(cut) of \(answer.count) bytes")
            let second = try fresh.receive(Array(answer[cut...]), pending: &again)
            #expect(second.outcome?.security == .plaintextMSE, "cut at \(cut)")
        }
    }

    @Test func plaintextHandshakeDetected() throws {
        let plain = Self.ourHandshake + [0, 0, 0, 1, 2]
        for cut in 0..<plain.count {
            var responder = Self.responder()
            var none: [UInt8] = []
            let first = try responder.receive(Array(plain[..<cut]), pending: &none)
            let second = cut < 20 ? try responder.receive(Array(plain[cut...]), pending: &none) : first
            let outcome = try #require(first.outcome ?? second.outcome)
            #expect(outcome.security == .plain && outcome.received == Array(plain[..<(cut < 20 ? plain.count : cut)]))
            #expect(first.send.isEmpty && second.send.isEmpty)
        }
        var strict = Self.responder(methods: .rc4, plaintextAllowed: false)
        var none: [UInt8] = []
        #expect(throws: MSEError.plaintextRefused) { try strict.receive(plain, pending: &none) }
        #expect(strict.isFinished)
        // Nineteen matching bytes are not yet a decision.
        var waiting = Self.responder(methods: .rc4, plaintextAllowed: false)
        #expect(try waiting.receive(Array(plain[..<19]), pending: &none).outcome == nil)
    }

    // MARK: Malformed fields, crafted after a real key exchange.

    /// Step 3 written by hand: the initiator's hashes, then `fields` encrypted with keyA.
    static func craftedStep3(fields: [UInt8], req2Hash: [UInt8] = infoHash) throws -> (MSEHandshake, [UInt8]) {
        var responder = Self.responder()
        var none: [UInt8] = []
        let keys = MSEKeys()
        let reply = try responder.receive(keys.publicKey, pending: &none).send
        let secret = try keys.sharedSecret(with: Array(reply.prefix(96)))
        var encrypted = fields
        var cipher = MSEKeys.cipher("keyA", secret: secret, skey: req2Hash)
        cipher.apply(&encrypted)
        let bytes =
            MSEKeys.hash(Array("req1".utf8), secret)
            + MSEHandshake.xor(MSEKeys.hash(Array("req2".utf8), req2Hash), MSEKeys.hash(Array("req3".utf8), secret))
            + encrypted
        return (responder, bytes)
    }

    static func fields(
        vc: [UInt8] = MSEHandshake.verificationConstant, provide: UInt32 = 3, padC: Int = 0, ia: Int = 0
    )
        -> [UInt8]
    {
        vc + MSEHandshake.bigEndian(provide, count: 4) + MSEHandshake.bigEndian(UInt32(padC), count: 2)
            + [UInt8](repeating: 0, count: min(padC, 600)) + MSEHandshake.bigEndian(UInt32(ia), count: 2)
    }

    @Test func craftedStep3IsAcceptedWhenWellFormed() throws {
        var (responder, bytes) = try Self.craftedStep3(fields: Self.fields(provide: 2, padC: 512))
        var none: [UInt8] = []
        #expect(try responder.receive(bytes, pending: &none).outcome?.security == .rc4)
    }

    @Test func paddingLengthOutOfRange() throws {
        var (responder, bytes) = try Self.craftedStep3(fields: Self.fields(padC: 513))
        var none: [UInt8] = []
        #expect(throws: MSEError.paddingTooLong(513)) { try responder.receive(bytes, pending: &none) }
        var (other, more) = try Self.craftedStep3(fields: Self.fields(padC: 0xFFFF))
        #expect(throws: MSEError.paddingTooLong(0xFFFF)) { try other.receive(more, pending: &none) }
        #expect(other.bufferedByteCount == 0)
    }

    @Test func wrongVerificationConstant() throws {
        var (responder, bytes) = try Self.craftedStep3(fields: Self.fields(vc: [0, 0, 0, 0, 0, 0, 0, 1]))
        var none: [UInt8] = []
        #expect(throws: MSEError.invalidVerificationConstant) { try responder.receive(bytes, pending: &none) }
    }

    @Test func initialPayloadTooLong() throws {
        var (responder, bytes) = try Self.craftedStep3(fields: Self.fields(ia: MSEHandshake.maxInitialPayload + 1))
        var none: [UInt8] = []
        #expect(throws: MSEError.initialPayloadTooLong(MSEHandshake.maxInitialPayload + 1)) {
            try responder.receive(bytes, pending: &none)
        }
    }

    /// Garbage after the key: the responder gives up once 512 + 20 bytes hold no req1, however much
    /// more comes, and keeps no more than one read's worth.
    @Test func garbageAfterTheKey() throws {
        var responder = Self.responder()
        var none: [UInt8] = []
        _ = try responder.receive(MSEKeys().publicKey, pending: &none)
        var fed = 0
        #expect(throws: MSEError.synchronisationNotFound(searched: 532)) {
            while fed < 1 << 20 {
                _ = try responder.receive([UInt8](repeating: 0x5A, count: 100), pending: &none)
                fed += 100
                #expect(responder.bufferedByteCount <= 632)
            }
        }
        #expect(fed < 600)
        #expect(responder.isFinished)
    }

    /// The initiator refuses a selection it did not offer, and a padding length past 512.
    @Test(arguments: [
        (UInt32(1), 0, MSEError.invalidSelection(1)), (3, 0, .invalidSelection(3)), (2, 513, .paddingTooLong(513)),
    ])
    func badAnswersRefused(select: UInt32, padD: Int, error: MSEError) throws {
        let keys = MSEKeys()
        var initiator = MSEHandshake.initiator(infoHash: Self.infoHash, methods: .rc4, keys: keys)
        let yb = MSEKeys()
        var pending = Self.ourHandshake
        _ = initiator.start()
        _ = try initiator.receive(yb.publicKey, pending: &pending)
        let secret = try yb.sharedSecret(with: keys.publicKey)
        var step4 = MSEHandshake.verificationConstant + MSEHandshake.bigEndian(select, count: 4)
        step4 += MSEHandshake.bigEndian(UInt32(padD), count: 2)
        var cipher = MSEKeys.cipher("keyB", secret: secret, skey: Self.infoHash)
        cipher.apply(&step4)
        #expect(throws: error) { try initiator.receive(step4, pending: &pending) }
    }
}
