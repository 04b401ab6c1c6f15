import Crypto

/// The MSE/PE handshake (message stream encryption, as libtorrent, Transmission, qBittorrent and Vuze
/// speak it) as a pure state machine over bytes: fed what the socket delivered, it returns what to
/// send and, once done, how the rest of the stream is to be read and written. The channel handler
/// (``MSEHandler``) does the I/O; tests drive the machine directly.
///
///     1 A→B: Ya, PadA
///     2 B→A: Yb, PadB
///     3 A→B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
///            ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
///     4 B→A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload stream)
///
/// Every length read is checked before anything is kept for it: paddings at most 512 bytes, the
/// initial payload at most ``maxInitialPayload``, the synchronisation points searched for in at most
/// 512 bytes past the public key. What the machine buffers is thus bounded by those plus one read.
public struct MSEHandshake: Sendable {
    /// The most padding either side may send (PadA, PadB, PadC, PadD).
    public static let maxPadding = 512
    /// The longest initial payload (IA) taken: a BitTorrent handshake is 68 bytes; clients send at
    /// most that and a few messages.
    public static let maxInitialPayload = 4096
    /// The verification constant: 8 zero bytes.
    static let verificationConstant = [UInt8](repeating: 0, count: 8)
    /// The start of a plaintext BitTorrent handshake.
    static let plaintextPrefix: [UInt8] = [19] + Array("BitTorrent protocol".utf8)

    /// How the stream goes on once the handshake is done.
    public struct Outcome: Sendable {
        /// What the connection ended up as.
        public var security: PeerTransportSecurity
        /// Encrypts what we send from now on (RC4 chosen), or nil (plaintext).
        public var encryptor: RC4?
        /// Decrypts what we receive from now on (RC4 chosen), or nil (plaintext).
        public var decryptor: RC4?
        /// Stream bytes already received after the handshake (the initial payload first), decrypted.
        public var received: [UInt8]
        /// The info hash the initiator asked for (responder), or nil.
        public var infoHash: [UInt8]?
    }

    /// What one call returns: bytes to write to the socket, and the outcome once the handshake is done.
    public struct Step: Sendable {
        /// Bytes to write to the peer.
        public var send: [UInt8] = []
        /// Set once the handshake is done.
        public var outcome: Outcome?
    }

    private enum Stage: Sendable {
        // Both
        case awaitingKey
        case done
        case failed
        // Initiator
        case seekingVerification(expected: [UInt8])
        case readingSelect
        case readingPadD(length: Int, method: MSEMethods)
        // Responder
        case seekingReq1(req1: [UInt8])
        case readingSKEY
        case readingProvide
        case readingPadC(length: Int, provided: MSEMethods)
        case readingInitialPayload(length: Int, provided: MSEMethods)
    }

    private enum Role: Sendable {
        case initiator(infoHash: [UInt8])
        case responder(infoHashes: @Sendable () -> [[UInt8]], plaintextAllowed: Bool)
    }

    private let role: Role
    private let methods: MSEMethods
    /// Makes this side's key pair at its first use: a dial that is refused, or a peer that answers in
    /// plaintext, costs no exponentiation.
    private let makeKeys: @Sendable () -> MSEKeys
    private var madeKeys: MSEKeys?
    private let padding: @Sendable () -> Int
    private var stage = Stage.awaitingKey
    /// Received bytes not yet consumed.
    private var buffer: [UInt8] = []
    private var secret: [UInt8] = []
    private var encryptor: RC4?
    private var decryptor: RC4?
    private var infoHash: [UInt8]?
    /// How many bytes the peer's padding may be searched through (for the error message).
    private static let searchWindow = maxPadding

    /// The dialling side for the torrent `infoHash`, offering `methods`.
    ///
    /// `keys` and `padding` (the length of PadA, 0...512) are fresh random ones unless a test gives them;
    /// the keys are made when first needed.
    public static func initiator(
        infoHash: [UInt8], methods: MSEMethods, keys: @autoclosure @escaping @Sendable () -> MSEKeys = MSEKeys(),
        padding: @escaping @Sendable () -> Int = { Int.random(in: 0...maxPadding) }
    ) -> MSEHandshake {
        MSEHandshake(role: .initiator(infoHash: infoHash), methods: methods, keys: keys, padding: padding)
    }

    /// The answering side, accepting `methods`: it finds the torrent among `infoHashes` (the running
    /// ones, asked when the initiator's hash arrives). With `plaintextAllowed`, a connection that
    /// starts with a plaintext BitTorrent handshake ends the machine at once with a plaintext outcome;
    /// without, it is refused.
    public static func responder(
        infoHashes: @escaping @Sendable () -> [[UInt8]], methods: MSEMethods, plaintextAllowed: Bool,
        keys: @autoclosure @escaping @Sendable () -> MSEKeys = MSEKeys(),
        padding: @escaping @Sendable () -> Int = { Int.random(in: 0...maxPadding) }
    ) -> MSEHandshake {
        MSEHandshake(
            role: .responder(infoHashes: infoHashes, plaintextAllowed: plaintextAllowed), methods: methods, keys: keys,
            padding: padding)
    }

    private init(
        role: Role, methods: MSEMethods, keys: @escaping @Sendable () -> MSEKeys, padding: @escaping @Sendable () -> Int
    ) {
        self.role = role
        self.methods = methods
        self.makeKeys = keys
        self.padding = padding
    }

    /// This side's key pair, made at the first call.
    private mutating func keys() -> MSEKeys {
        if let madeKeys { return madeKeys }
        let keys = makeKeys()
        madeKeys = keys
        return keys
    }

    /// True once the machine has returned its outcome or thrown.
    public var isFinished: Bool {
        switch stage {
        case .done, .failed: return true
        default: return false
        }
    }

    /// What to send as soon as the connection is up: Ya and PadA for the initiator, nothing for the
    /// responder (it answers the initiator's key).
    public mutating func start() -> [UInt8] {
        guard case .initiator = role else { return [] }
        return keys().publicKey + Self.randomBytes(padding())
    }

    /// Takes bytes received from the peer. The initiator's initial payload (IA) is taken from the
    /// start of `pending` (what the layer above has written so far, at most ``maxInitialPayload``).
    ///
    /// - Throws: ``MSEError`` for anything the peer got wrong; the machine is then finished.
    public mutating func receive(_ bytes: [UInt8], pending: inout [UInt8]) throws(MSEError) -> Step {
        precondition(!isFinished, "the handshake is over")
        buffer += bytes
        do {
            var step = Step()
            while try advance(&step, pending: &pending) {}
            return step
        } catch {
            stage = .failed
            buffer = []
            throw error
        }
    }

    /// Ends the machine from outside (a deadline): it is finished, its buffer freed.
    mutating func abandon() {
        stage = .failed
        buffer = []
    }

    /// How many received bytes the machine holds, not yet consumed (bounded by the paddings, the
    /// initial payload and one read).
    public var bufferedByteCount: Int { buffer.count }

    /// The stage that lacks bytes in the buffer, for ``MSEError/endedEarly(stage:)``.
    public var stageDescription: String {
        switch stage {
        case .awaitingKey: return "before the Diffie-Hellman key"
        case .seekingVerification, .seekingReq1: return "in the padding"
        case .readingSelect, .readingPadD, .readingSKEY, .readingProvide, .readingPadC: return "in the negotiation"
        case .readingInitialPayload: return "in the initial payload"
        case .done, .failed: return "after the handshake"
        }
    }

    /// Does one step if the buffer holds enough for it; false when it needs more bytes or is done.
    private mutating func advance(_ step: inout Step, pending: inout [UInt8]) throws(MSEError) -> Bool {
        switch (stage, role) {
        case (.done, _), (.failed, _):
            return false
        case (.awaitingKey, .responder(_, let plaintextAllowed)):
            let prefix = Self.plaintextPrefix
            let compared = min(buffer.count, prefix.count)
            if buffer[0..<compared].elementsEqual(prefix[0..<compared]) {
                guard compared == prefix.count else { return false }
                guard plaintextAllowed else { throw .plaintextRefused }
                finish(&step, security: .plain, method: .plaintext, received: [])
                return false
            }
            guard !methods.isEmpty else { throw .encryptedRefused }
            guard buffer.count >= MSEKeys.keyLength else { return false }
            let pair = keys()
            secret = try pair.sharedSecret(with: take(MSEKeys.keyLength))
            step.send += pair.publicKey + Self.randomBytes(padding())
            stage = .seekingReq1(req1: MSEKeys.hash(Array("req1".utf8), secret))
            return true
        case (.awaitingKey, .initiator(let infoHash)):
            guard buffer.count >= MSEKeys.keyLength else { return false }
            secret = try keys().sharedSecret(with: take(MSEKeys.keyLength))
            var encryptor = MSEKeys.cipher("keyA", secret: secret, skey: infoHash)
            let decryptor = MSEKeys.cipher("keyB", secret: secret, skey: infoHash)
            let payload = Array(pending.prefix(Self.maxInitialPayload))
            pending.removeFirst(payload.count)
            var encrypted = Self.verificationConstant
            encrypted += Self.bigEndian(methods.rawValue, count: 4) + Self.bigEndian(0, count: 2)  // no PadC
            encrypted += Self.bigEndian(UInt32(payload.count), count: 2) + payload
            encryptor.apply(&encrypted)
            step.send += MSEKeys.hash(Array("req1".utf8), secret)
            step.send += Self.xor(
                MSEKeys.hash(Array("req2".utf8), infoHash), MSEKeys.hash(Array("req3".utf8), secret))
            step.send += encrypted
            var expected = Self.verificationConstant
            var probe = decryptor
            probe.apply(&expected)
            self.encryptor = encryptor
            self.decryptor = decryptor
            stage = .seekingVerification(expected: expected)
            return true
        case (.seekingVerification(let expected), _):
            guard let offset = try seek(expected) else { return false }
            buffer.removeFirst(offset)
            stage = .readingSelect
            return true
        case (.readingSelect, _):
            guard let (selected, length) = try readNegotiation() else { return false }
            let method = MSEMethods(rawValue: selected)
            guard method == .rc4 || method == .plaintext, methods.contains(method) else {
                throw .invalidSelection(selected)
            }
            stage = .readingPadD(length: length, method: method)
            return true
        case (.readingPadD(let length, let method), _):
            guard buffer.count >= length else { return false }
            _ = decrypt(take(length))
            finish(&step, security: method == .rc4 ? .rc4 : .plaintextMSE, method: method, received: [])
            return false
        case (.seekingReq1(let req1), _):
            guard let offset = try seek(req1) else { return false }
            buffer.removeFirst(offset + req1.count)
            stage = .readingSKEY
            return true
        case (.readingSKEY, .responder(let infoHashes, _)):
            guard buffer.count >= 20 else { return false }
            let req2 = Self.xor(take(20), MSEKeys.hash(Array("req3".utf8), secret))
            guard let found = infoHashes().first(where: { MSEKeys.hash(Array("req2".utf8), $0) == req2 }) else {
                throw .unknownInfoHash
            }
            infoHash = found
            decryptor = MSEKeys.cipher("keyA", secret: secret, skey: found)
            encryptor = MSEKeys.cipher("keyB", secret: secret, skey: found)
            stage = .readingProvide
            return true
        case (.readingProvide, _):
            guard let (bits, length) = try readNegotiation() else { return false }
            stage = .readingPadC(length: length, provided: MSEMethods(rawValue: bits))
            return true
        case (.readingPadC(let length, let provided), _):
            guard buffer.count >= length + 2 else { return false }
            let fields = decrypt(take(length + 2))
            let payloadLength = Int(Self.integer(fields[length..<length + 2]))
            guard payloadLength <= Self.maxInitialPayload else { throw .initialPayloadTooLong(payloadLength) }
            stage = .readingInitialPayload(length: payloadLength, provided: provided)
            return true
        case (.readingInitialPayload(let length, let provided), _):
            guard buffer.count >= length else { return false }
            let payload = decrypt(take(length))
            // Plaintext when both are offered, as libtorrent does (prefer_rc4 off): the handshake is
            // still obfuscated, and RC4 costs CPU on both sides. `require` accepts only RC4.
            let common = provided.intersection(methods)
            let method: MSEMethods
            if common.contains(.plaintext) {
                method = .plaintext
            } else if common.contains(.rc4) {
                method = .rc4
            } else {
                throw .noCommonMethod(offered: provided.rawValue)
            }
            var reply = Self.verificationConstant + Self.bigEndian(method.rawValue, count: 4)
            reply += Self.bigEndian(0, count: 2)  // no PadD
            encryptor!.apply(&reply)
            step.send += reply
            finish(&step, security: method == .rc4 ? .rc4 : .plaintextMSE, method: method, received: payload)
            return false
        case (.readingSKEY, .initiator):
            preconditionFailure("a responder stage in an initiator")
        }
    }

    /// Decrypts ENCRYPT(VC, crypto_provide or crypto_select, len(Pad)) when its 14 bytes are in:
    /// the method bits and the padding length, checked; nil when more bytes are needed.
    private mutating func readNegotiation() throws(MSEError) -> (bits: UInt32, padding: Int)? {
        guard buffer.count >= 14 else { return nil }
        let fields = decrypt(take(14))
        guard fields[0..<8].allSatisfy({ $0 == 0 }) else { throw .invalidVerificationConstant }
        let length = Int(Self.integer(fields[12..<14]))
        guard length <= Self.maxPadding else { throw .paddingTooLong(length) }
        return (Self.integer(fields[8..<12]), length)
    }

    /// Ends the handshake: the rest of the buffer is stream data, decrypted if RC4 was chosen.
    private mutating func finish(
        _ step: inout Step, security: PeerTransportSecurity, method: MSEMethods, received: [UInt8]
    ) {
        var rest = buffer
        buffer = []
        if method == .rc4 {
            decryptor?.apply(&rest)
        } else {
            encryptor = nil
            decryptor = nil
        }
        step.outcome = Outcome(
            security: security, encryptor: encryptor, decryptor: decryptor, received: received + rest,
            infoHash: infoHash)
        stage = .done
    }

    /// The offset of `pattern` in the buffer when it starts within the padding window; nil when more
    /// bytes may still bring it; throws when the window is past.
    private func seek(_ pattern: [UInt8]) throws(MSEError) -> Int? {
        let lastStart = min(Self.searchWindow, buffer.count - pattern.count)
        if lastStart >= 0 {
            for offset in 0...lastStart where buffer[offset..<offset + pattern.count].elementsEqual(pattern) {
                return offset
            }
        }
        if buffer.count >= Self.searchWindow + pattern.count {
            throw .synchronisationNotFound(searched: Self.searchWindow + pattern.count)
        }
        return nil
    }

    private mutating func take(_ count: Int) -> [UInt8] {
        let taken = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return taken
    }

    private mutating func decrypt(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        decryptor!.apply(&bytes)
        return bytes
    }

    /// `count` bytes from the system's secure random source in one call (through swift-crypto, as
    /// ``MSEKeys``). A `UInt8.random` per byte was a system call per byte: up to 512 for one padding,
    /// 2% of the CPU of 200 torrents downloading at once.
    static func randomBytes(_ count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Array($0) }
    }

    static func xor(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] { zip(a, b).map { $0 ^ $1 } }

    static func bigEndian(_ value: UInt32, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt32(8 * (count - 1 - $0))) }
    }

    static func integer(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }
}

/// What a peer connection's byte stream is: plain BitTorrent, or MSE/PE with either payload method.
public enum PeerTransportSecurity: String, Sendable, Hashable, Codable {
    /// A plaintext BitTorrent handshake, no MSE.
    case plain
    /// MSE/PE handshake, then a plaintext payload (crypto_select 0x01).
    case plaintextMSE = "plain-mse"
    /// MSE/PE handshake, then an RC4-encrypted payload (crypto_select 0x02).
    case rc4

    /// The label `btq peers` shows after the transport: `tcp`, `tcp+plain-mse`, `tcp+rc4`.
    public func label(transport: String = "tcp") -> String {
        self == .plain ? transport : "\(transport)+\(rawValue)"
    }
}
