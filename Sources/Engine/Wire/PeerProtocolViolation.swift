/// A peer broke the rules of the wire protocol with well-framed messages. The peer is at fault:
/// drop the connection.
///
/// A struct around a private enum, so new cases can be added without breaking callers.
public struct PeerProtocolViolation: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case pieceIndexOutOfRange(messageID: UInt8, index: PieceIndex, pieceCount: Int)
        case bitfieldLengthMismatch(expected: Int, actual: Int)
        case bitfieldSpareBitsSet
        case misplacedAvailability(messageID: UInt8)
        case fastExtensionNotNegotiated(messageID: UInt8)
        case extensionProtocolNotNegotiated
        case unrequestedBlock(BlockRequest)
        case unrequestedReject(BlockRequest)
        case invalidRequest(BlockRequest)
        case tooManyRequests(limit: Int)
        case requestsWhileChoked(limit: Int)
        case redundantHaves(limit: Int)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// A `have`, `suggest piece` or `allowed fast` named a piece the torrent does not have.
    public static func pieceIndexOutOfRange(messageID: UInt8, index: PieceIndex, pieceCount: Int) -> Self {
        Self(.pieceIndexOutOfRange(messageID: messageID, index: index, pieceCount: pieceCount))
    }

    /// A bitfield of the wrong byte count.
    public static func bitfieldLengthMismatch(expected: Int, actual: Int) -> Self {
        Self(.bitfieldLengthMismatch(expected: expected, actual: actual))
    }

    /// A bitfield with bits set past the last piece.
    public static var bitfieldSpareBitsSet: Self { Self(.bitfieldSpareBitsSet) }

    /// A `bitfield`, `have all` or `have none` that came twice or after other messages.
    public static func misplacedAvailability(messageID: UInt8) -> Self {
        Self(.misplacedAvailability(messageID: messageID))
    }

    /// A Fast extension message (BEP 6) on a connection that did not negotiate it.
    public static func fastExtensionNotNegotiated(messageID: UInt8) -> Self {
        Self(.fastExtensionNotNegotiated(messageID: messageID))
    }

    /// An extension protocol message (BEP 10) on a connection that did not negotiate it.
    public static var extensionProtocolNotNegotiated: Self { Self(.extensionProtocolNotNegotiated) }

    /// A block that matches no outstanding request (wrong piece, offset or length).
    public static func unrequestedBlock(_ block: BlockRequest) -> Self { Self(.unrequestedBlock(block)) }

    /// A `reject request` for a request that was never sent.
    public static func unrequestedReject(_ request: BlockRequest) -> Self { Self(.unrequestedReject(request)) }

    /// A request outside the torrent: piece out of range, empty, too long, or past the piece end.
    public static func invalidRequest(_ request: BlockRequest) -> Self { Self(.invalidRequest(request)) }

    /// More requests queued than the limit we announced, on a connection without the Fast extension
    /// (with it they are rejected instead).
    public static func tooManyRequests(limit: Int) -> Self { Self(.tooManyRequests(limit: limit)) }

    /// More requests while we choke the peer (since we last unchoked it) than it could have had on
    /// their way when the choke reached it: a peer that keeps asking after being told no, only to
    /// make us answer.
    public static func requestsWhileChoked(limit: Int) -> Self { Self(.requestsWhileChoked(limit: limit)) }

    /// More `have` messages for pieces the peer had announced already than the limit: an honest peer
    /// announces each piece once.
    public static func redundantHaves(limit: Int) -> Self { Self(.redundantHaves(limit: limit)) }

    /// A sentence for logs.
    public var description: String {
        switch base {
        case .pieceIndexOutOfRange(let id, let index, let count):
            "message \(id) names piece \(index) of a torrent with \(count) pieces"
        case .bitfieldLengthMismatch(let expected, let actual):
            "bitfield of \(actual) bytes, expected \(expected)"
        case .bitfieldSpareBitsSet:
            "bitfield has bits set past the last piece"
        case .misplacedAvailability(let id):
            "message \(id) (bitfield, have all or have none) sent twice or after other messages"
        case .fastExtensionNotNegotiated(let id):
            "Fast extension message \(id) without the Fast extension"
        case .extensionProtocolNotNegotiated:
            "extension protocol message without the extension protocol"
        case .unrequestedBlock(let block):
            "block \(block) was not requested"
        case .unrequestedReject(let request):
            "reject for \(request), which was not requested"
        case .invalidRequest(let request):
            "request \(request) lies outside the torrent or exceeds the block size limit"
        case .tooManyRequests(let limit):
            "more than \(limit) requests queued without the Fast extension"
        case .requestsWhileChoked(let limit):
            "more than \(limit) requests while choked"
        case .redundantHaves(let limit):
            "more than \(limit) have messages for pieces it had announced already"
        }
    }
}
