/// Why an MSE/PE (message stream encryption) handshake failed. Every case but ``plaintextRefused``
/// and ``encryptedRefused`` is the peer's fault (garbage, or a peer that does not speak MSE): drop
/// the connection.
///
/// A struct around a private enum, so that cases can be added later.
public struct MSEError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case invalidPublicKey
        case synchronisationNotFound(searched: Int)
        case unknownInfoHash
        case invalidVerificationConstant
        case paddingTooLong(Int)
        case initialPayloadTooLong(Int)
        case noCommonMethod(offered: UInt32)
        case invalidSelection(UInt32)
        case plaintextRefused
        case encryptedRefused
        case endedEarly(stage: String)
        case timedOut
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// The peer's Diffie-Hellman key is 0, 1, P-1 or not below P.
    public static let invalidPublicKey = MSEError(.invalidPublicKey)
    /// The hash (responder) or the encrypted verification constant (initiator) that ends the peer's
    /// padding was not within the `searched` bytes where it must be.
    public static func synchronisationNotFound(searched: Int) -> MSEError {
        .init(.synchronisationNotFound(searched: searched))
    }
    /// The peer asked for a torrent that is not running here.
    public static let unknownInfoHash = MSEError(.unknownInfoHash)
    /// The decrypted verification constant is not 8 zero bytes (wrong key, garbage).
    public static let invalidVerificationConstant = MSEError(.invalidVerificationConstant)
    /// A padding length above 512.
    public static func paddingTooLong(_ length: Int) -> MSEError { .init(.paddingTooLong(length)) }
    /// An initial payload longer than the limit.
    public static func initialPayloadTooLong(_ length: Int) -> MSEError { .init(.initialPayloadTooLong(length)) }
    /// The peer offered no method we accept (`offered` is its crypto_provide bits).
    public static func noCommonMethod(offered: UInt32) -> MSEError { .init(.noCommonMethod(offered: offered)) }
    /// The responder selected a method we did not offer, or more than one.
    public static func invalidSelection(_ bits: UInt32) -> MSEError { .init(.invalidSelection(bits)) }
    /// A plaintext BitTorrent handshake while encryption is required.
    public static let plaintextRefused = MSEError(.plaintextRefused)
    /// An encrypted handshake while encryption is disabled.
    public static let encryptedRefused = MSEError(.encryptedRefused)
    /// The connection closed in the middle of the handshake, at `stage`.
    public static func endedEarly(stage: String) -> MSEError { .init(.endedEarly(stage: stage)) }

    /// The handshake did not finish within its time (10 s).
    public static let timedOut = MSEError(.timedOut)

    /// One line for the user and the log.
    public var description: String {
        switch kind {
        case .invalidPublicKey: return "encrypted handshake: invalid Diffie-Hellman key"
        case .synchronisationNotFound(let searched):
            return "encrypted handshake: no synchronisation within \(searched) bytes"
        case .unknownInfoHash: return "encrypted handshake: unknown info-hash"
        case .invalidVerificationConstant: return "encrypted handshake: wrong verification constant"
        case .paddingTooLong(let length): return "encrypted handshake: padding of \(length) bytes (at most 512)"
        case .initialPayloadTooLong(let length):
            return "encrypted handshake: initial payload of \(length) bytes (at most \(MSEHandshake.maxInitialPayload))"
        case .noCommonMethod(let offered): return "encrypted handshake: no common method (offered \(offered))"
        case .invalidSelection(let bits): return "encrypted handshake: invalid method selected (\(bits))"
        case .plaintextRefused: return "plaintext handshake refused (encryption required)"
        case .encryptedRefused: return "encrypted handshake refused (encryption disabled)"
        case .endedEarly(let stage): return "encrypted handshake: connection closed \(stage)"
        case .timedOut: return "encrypted handshake: not finished in time"
        }
    }
}
