/// Why a uTP datagram was refused or a uTP connection ended. Malformed datagrams are the sender's
/// fault (drop the datagram); the connection cases end that one connection.
///
/// A struct around a private enum, so that cases can be added later.
public struct UTPError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case tooShort(Int)
        case wrongVersion(UInt8)
        case unknownType(UInt8)
        case extensionTruncated(offset: Int)
        case tooManyExtensions(Int)
        case payloadNotAllowed(type: UInt8)
        case handshakeTimedOut
        case portUnreachable
        case timedOut
        case resetByPeer
        case idle
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// A datagram shorter than the 20-byte header (`length` bytes).
    public static func tooShort(_ length: Int) -> UTPError { .init(.tooShort(length)) }
    /// A version other than 1 in the low four bits of the first byte.
    public static func wrongVersion(_ version: UInt8) -> UTPError { .init(.wrongVersion(version)) }
    /// A type above 4 (ST_SYN).
    public static func unknownType(_ type: UInt8) -> UTPError { .init(.unknownType(type)) }
    /// An extension header or body runs past the end of the datagram, at byte `offset`.
    public static func extensionTruncated(offset: Int) -> UTPError { .init(.extensionTruncated(offset: offset)) }
    /// More extensions than ``UTPPacket/maxExtensions``.
    public static func tooManyExtensions(_ count: Int) -> UTPError { .init(.tooManyExtensions(count)) }
    /// A payload on a packet type that carries none (ST_STATE, ST_RESET, ST_SYN with bytes after the
    /// header is tolerated by others; we only refuse it on ST_STATE and ST_RESET).
    public static func payloadNotAllowed(type: UInt8) -> UTPError { .init(.payloadNotAllowed(type: type)) }
    /// The peer never answered our SYN.
    public static let handshakeTimedOut = UTPError(.handshakeTimedOut)
    /// The peer's host said nothing listens on its UDP port (ICMP port unreachable) while the SYN
    /// was unanswered.
    public static let portUnreachable = UTPError(.portUnreachable)
    /// A packet was retransmitted too many times without an ack.
    public static let timedOut = UTPError(.timedOut)
    /// The peer sent ST_RESET.
    public static let resetByPeer = UTPError(.resetByPeer)
    /// Nothing arrived from the peer for too long.
    public static let idle = UTPError(.idle)

    /// One line for the user and the log.
    public var description: String {
        switch kind {
        case .tooShort(let length): return "uTP: datagram of \(length) bytes (header is 20)"
        case .wrongVersion(let version): return "uTP: version \(version) (only 1)"
        case .unknownType(let type): return "uTP: unknown packet type \(type)"
        case .extensionTruncated(let offset): return "uTP: extension truncated at byte \(offset)"
        case .tooManyExtensions(let count): return "uTP: \(count) extensions (at most \(UTPPacket.maxExtensions))"
        case .payloadNotAllowed(let type): return "uTP: payload on packet type \(type)"
        case .handshakeTimedOut: return "uTP: no answer to SYN"
        case .portUnreachable: return "uTP: nothing listens on the peer's UDP port"
        case .timedOut: return "uTP: retransmitted too often without an ack"
        case .resetByPeer: return "uTP: reset by peer"
        case .idle: return "uTP: nothing received for too long"
        }
    }
}
