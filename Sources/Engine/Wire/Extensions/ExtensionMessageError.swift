/// A malformed or abusive extension protocol message (BEP 10, 9, 11). The peer is at fault: drop it.
///
/// A struct around a private enum, so new cases can be added without breaking callers.
public struct ExtensionMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case tooLarge(message: String, length: Int, limit: Int)
        case malformedBencode(message: String, reason: String)
        case notADictionary(message: String)
        case invalidField(message: String, field: String)
        case metadataPieceOutOfRange(piece: Int, pieceCount: Int)
        case metadataWrongLength(piece: Int, length: Int, expected: Int)
        case metadataSizeChanged(announced: Int, sent: Int)
        case unrequestedMetadata(piece: Int)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// A message of kind `message` longer than `limit` bytes.
    public static func tooLarge(_ message: String, length: Int, limit: Int) -> Self {
        Self(.tooLarge(message: message, length: length, limit: limit))
    }

    /// The bencoded part of a message does not decode.
    public static func malformedBencode(_ message: String, reason: String) -> Self {
        Self(.malformedBencode(message: message, reason: reason))
    }

    /// The bencoded part of a message is not a dictionary.
    public static func notADictionary(_ message: String) -> Self { Self(.notADictionary(message: message)) }

    /// A field the message needs is missing or of the wrong type or range.
    public static func invalidField(_ message: String, field: String) -> Self {
        Self(.invalidField(message: message, field: field))
    }

    /// A metadata piece index past the end of the metadata.
    public static func metadataPieceOutOfRange(piece: Int, pieceCount: Int) -> Self {
        Self(.metadataPieceOutOfRange(piece: piece, pieceCount: pieceCount))
    }

    /// A metadata piece whose length is not 16 KiB (or the remainder, for the last piece).
    public static func metadataWrongLength(piece: Int, length: Int, expected: Int) -> Self {
        Self(.metadataWrongLength(piece: piece, length: length, expected: expected))
    }

    /// A `data` message whose `total_size` differs from the `metadata_size` the peer announced.
    public static func metadataSizeChanged(announced: Int, sent: Int) -> Self {
        Self(.metadataSizeChanged(announced: announced, sent: sent))
    }

    /// A metadata piece we did not ask this peer for.
    public static func unrequestedMetadata(piece: Int) -> Self { Self(.unrequestedMetadata(piece: piece)) }

    /// A sentence for logs.
    public var description: String {
        switch base {
        case .tooLarge(let message, let length, let limit):
            "\(message) of \(length) bytes exceeds the limit of \(limit)"
        case .malformedBencode(let message, let reason):
            "\(message): malformed bencode (\(reason))"
        case .notADictionary(let message):
            "\(message) is not a bencoded dictionary"
        case .invalidField(let message, let field):
            "\(message): missing or invalid '\(field)'"
        case .metadataPieceOutOfRange(let piece, let count):
            "metadata piece \(piece) of metadata with \(count) pieces"
        case .metadataWrongLength(let piece, let length, let expected):
            "metadata piece \(piece) of \(length) bytes, expected \(expected)"
        case .metadataSizeChanged(let announced, let sent):
            "metadata total_size \(sent) differs from the announced metadata_size \(announced)"
        case .unrequestedMetadata(let piece):
            "metadata piece \(piece) was not requested"
        }
    }
}

extension BencodeDecoder {
    /// The decoder for extension messages: small, shallow, key order not enforced (clients differ).
    static func extensionMessages(maxLength: Int) -> BencodeDecoder {
        BencodeDecoder(
            limits: .init(maxDepth: 8, maxElements: 4096, maxStringLength: maxLength, maxInputLength: maxLength),
            keyOrder: .lenient)
    }

    /// Decodes a whole extension message that must be a bencoded dictionary of at most `maxLength`
    /// bytes; `what` names it in the error.
    static func extensionDictionary(
        _ payload: some Collection<UInt8>, what: String, maxLength: Int
    ) throws(ExtensionMessageError) -> BencodeNode {
        guard payload.count <= maxLength else {
            throw .tooLarge(what, length: payload.count, limit: maxLength)
        }
        let root: BencodeNode
        do {
            root = try extensionMessages(maxLength: maxLength).decode(Array(payload))
        } catch {
            throw .malformedBencode(what, reason: error.description)
        }
        guard root.isDictionary else { throw .notADictionary(what) }
        return root
    }
}
