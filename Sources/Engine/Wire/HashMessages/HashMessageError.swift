/// A malformed BEP 52 hash message. The peer is at fault: drop it.
///
/// A struct around a private enum, so new cases can be added without breaking callers.
public struct HashMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case notAHashMessage(id: UInt8)
        case wrongLength(id: UInt8, length: Int)
        case outOfBounds(reason: String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The id is not 21, 22 or 23.
    public static func notAHashMessage(id: UInt8) -> Self { Self(.notAHashMessage(id: id)) }

    /// The payload's length does not fit the message (`length` bytes).
    public static func wrongLength(id: UInt8, length: Int) -> Self { Self(.wrongLength(id: id, length: length)) }

    /// A field is out of the bounds of BEP 52 or of this decoder.
    public static func outOfBounds(_ reason: String) -> Self { Self(.outOfBounds(reason: reason)) }

    /// A sentence for logs.
    public var description: String {
        switch base {
        case .notAHashMessage(let id): "message id \(id) is not a hash message"
        case .wrongLength(let id, let length): "hash message \(id) of a wrong length: \(length) bytes"
        case .outOfBounds(let reason): "hash message out of bounds: \(reason)"
        }
    }
}
