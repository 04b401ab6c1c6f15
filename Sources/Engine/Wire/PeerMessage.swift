import NIOCore

/// A message of the peer wire protocol after the handshake, as a value.
///
/// Covers BitTorrent (BEP 3), the DHT port (BEP 5), the Fast extension (BEP 6) and the envelope of
/// the extension protocol (BEP 10). Payloads that carry bytes (`bitfield`, `piece`, `extended`,
/// `unknown`) hold `ByteBuffer` slices of the received bytes, so decoding copies nothing.
public enum PeerMessage: Hashable, Sendable {
    /// A zero-length frame that keeps the connection open.
    case keepAlive
    /// The sender will not serve the receiver's requests.
    case choke
    /// The sender will serve the receiver's requests.
    case unchoke
    /// The sender wants pieces the receiver has.
    case interested
    /// The sender wants nothing the receiver has.
    case notInterested
    /// The sender has finished and verified a piece.
    case have(PieceIndex)
    /// The pieces the sender has, one bit per piece, most significant bit first; only as the first message.
    case bitfield(ByteBuffer)
    /// The sender asks for a block.
    case request(BlockRequest)
    /// A block of data.
    case piece(index: PieceIndex, begin: UInt32, block: ByteBuffer)
    /// The sender withdraws an earlier request.
    case cancel(BlockRequest)
    /// The UDP port of the sender's DHT node (BEP 5).
    case port(UInt16)
    /// The sender suggests a piece to download (BEP 6).
    case suggestPiece(PieceIndex)
    /// The sender has every piece; replaces a bitfield (BEP 6).
    case haveAll
    /// The sender has no piece; replaces a bitfield (BEP 6).
    case haveNone
    /// The sender will not serve a request (BEP 6).
    case rejectRequest(BlockRequest)
    /// The receiver may request this piece even while choked (BEP 6).
    case allowedFast(PieceIndex)
    /// An extension protocol message (BEP 10): extended message id (0 for the extension handshake) and payload.
    case extended(id: UInt8, payload: ByteBuffer)
    /// A message with an id this type does not model (for instance the BEP 52 hash messages 21 to 23),
    /// passed through opaque. The decoder never produces it for a modeled id; do not build one with such an id.
    case unknown(id: UInt8, payload: ByteBuffer)

    /// The message id byte, or `nil` for keep-alive, which has none.
    public var id: UInt8? {
        switch self {
        case .keepAlive: nil
        case .choke: ID.choke
        case .unchoke: ID.unchoke
        case .interested: ID.interested
        case .notInterested: ID.notInterested
        case .have: ID.have
        case .bitfield: ID.bitfield
        case .request: ID.request
        case .piece: ID.piece
        case .cancel: ID.cancel
        case .port: ID.port
        case .suggestPiece: ID.suggestPiece
        case .haveAll: ID.haveAll
        case .haveNone: ID.haveNone
        case .rejectRequest: ID.rejectRequest
        case .allowedFast: ID.allowedFast
        case .extended: ID.extended
        case .unknown(let id, _): id
        }
    }

    /// The frame length the message announces: id byte plus payload, without the 4-byte prefix.
    public var frameLength: Int {
        switch self {
        case .keepAlive: 0
        case .choke, .unchoke, .interested, .notInterested, .haveAll, .haveNone: 1
        case .have, .suggestPiece, .allowedFast: 5
        case .port: 3
        case .request, .cancel, .rejectRequest: 13
        case .bitfield(let bytes): 1 + bytes.readableBytes
        case .piece(_, _, let block): 9 + block.readableBytes
        case .extended(_, let payload): 2 + payload.readableBytes
        case .unknown(_, let payload): 1 + payload.readableBytes
        }
    }

    /// Message id bytes.
    enum ID {
        static let choke: UInt8 = 0
        static let unchoke: UInt8 = 1
        static let interested: UInt8 = 2
        static let notInterested: UInt8 = 3
        static let have: UInt8 = 4
        static let bitfield: UInt8 = 5
        static let request: UInt8 = 6
        static let piece: UInt8 = 7
        static let cancel: UInt8 = 8
        static let port: UInt8 = 9
        static let suggestPiece: UInt8 = 13
        static let haveAll: UInt8 = 14
        static let haveNone: UInt8 = 15
        static let rejectRequest: UInt8 = 16
        static let allowedFast: UInt8 = 17
        static let extended: UInt8 = 20
    }
}

extension PeerMessage: CustomStringConvertible {
    /// A short form for logs; payload bytes are summarized by their count.
    public var description: String {
        switch self {
        case .keepAlive: "keep-alive"
        case .choke: "choke"
        case .unchoke: "unchoke"
        case .interested: "interested"
        case .notInterested: "not-interested"
        case .have(let index): "have(\(index))"
        case .bitfield(let bytes): "bitfield(\(bytes.readableBytes) bytes)"
        case .request(let request): "request(\(request))"
        case .piece(let index, let begin, let block): "piece(\(index):\(begin)+\(block.readableBytes))"
        case .cancel(let request): "cancel(\(request))"
        case .port(let port): "port(\(port))"
        case .suggestPiece(let index): "suggest-piece(\(index))"
        case .haveAll: "have-all"
        case .haveNone: "have-none"
        case .rejectRequest(let request): "reject-request(\(request))"
        case .allowedFast(let index): "allowed-fast(\(index))"
        case .extended(let id, let payload): "extended(\(id), \(payload.readableBytes) bytes)"
        case .unknown(let id, let payload): "unknown(\(id), \(payload.readableBytes) bytes)"
        }
    }
}
