/// A metadata exchange message (BEP 9, `ut_metadata`): the info dictionary travels in 16 KiB pieces.
///
/// On the wire: a bencoded dictionary with `msg_type` (0 request, 1 data, 2 reject) and `piece`,
/// plus `total_size` in a `data` message, whose piece bytes follow the dictionary directly.
public enum MetadataMessage: Hashable, Sendable {
    /// Asks for metadata piece `piece`.
    case request(piece: Int)
    /// Metadata piece `piece` of metadata `totalSize` bytes long.
    case data(piece: Int, totalSize: Int, bytes: [UInt8])
    /// The sender will not send piece `piece`.
    case reject(piece: Int)

    /// Every piece but the last is this long.
    public static let pieceLength = 16 * 1024
    /// The largest metadata accepted: 16 MiB (an info dictionary of about 800,000 pieces).
    public static let maxMetadataSize = 16 << 20
    /// The largest message accepted: a piece and a generous dictionary.
    public static let maxMessageLength = pieceLength + 1024

    /// The number of pieces of metadata `size` bytes long.
    public static func pieceCount(metadataSize size: Int) -> Int { (size + pieceLength - 1) / pieceLength }

    /// The length of piece `piece` of metadata `size` bytes long.
    public static func length(ofPiece piece: Int, metadataSize size: Int) -> Int {
        min(pieceLength, size - piece * pieceLength)
    }

    /// The message as sent (after the extended message id).
    public func encoded() -> [UInt8] {
        switch self {
        case .request(let piece):
            return BencodeValue.dictionary(["msg_type": 0, "piece": .integer(Int64(piece))]).encoded
        case .data(let piece, let totalSize, let bytes):
            let head: BencodeValue = .dictionary([
                "msg_type": 1, "piece": .integer(Int64(piece)), "total_size": .integer(Int64(totalSize)),
            ])
            return head.encoded + bytes
        case .reject(let piece):
            return BencodeValue.dictionary(["msg_type": 2, "piece": .integer(Int64(piece))]).encoded
        }
    }

    /// Decodes a received message; `nil` for a well-formed message of a `msg_type` this type does not
    /// know (BEP 9: ignore it).
    ///
    /// - Throws: ``ExtensionMessageError`` for an oversized or malformed message, a missing or
    ///   negative `piece`, a `data` message without a sane `total_size`, or bytes after the
    ///   dictionary of a message that is not `data`.
    public static func decode(_ payload: some Collection<UInt8>) throws(ExtensionMessageError) -> MetadataMessage? {
        let what = "metadata message"
        guard payload.count <= maxMessageLength else {
            throw .tooLarge(what, length: payload.count, limit: maxMessageLength)
        }
        let bytes = Array(payload)
        let head: BencodeNode
        do {
            head = try BencodeDecoder.extensionMessages(maxLength: maxMessageLength).decodePrefix(bytes)
        } catch {
            throw .malformedBencode(what, reason: error.description)
        }
        guard head.isDictionary else { throw .notADictionary(what) }
        guard let type = head["msg_type"]?.integer else { throw .invalidField(what, field: "msg_type") }
        guard let rawPiece = head["piece"]?.integer, rawPiece >= 0, rawPiece < Int64(maxMetadataSize / pieceLength)
        else { throw .invalidField(what, field: "piece") }
        let piece = Int(rawPiece)
        let trailing = bytes[head.span.upperBound...]
        switch type {
        case 0, 2:
            guard trailing.isEmpty else { throw .invalidField(what, field: "msg_type") }
            return type == 0 ? .request(piece: piece) : .reject(piece: piece)
        case 1:
            guard let total = head["total_size"]?.integer, total > 0, total <= Int64(maxMetadataSize) else {
                throw .invalidField(what, field: "total_size")
            }
            return .data(piece: piece, totalSize: Int(total), bytes: Array(trailing))
        default:
            return nil
        }
    }
}
