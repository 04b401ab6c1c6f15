/// A malformed handshake or frame from a peer. The peer is at fault: drop the connection.
///
/// A struct around a private enum, so new cases can be added without breaking callers. Two errors
/// are equal when they describe the same fault; ``offset`` is diagnostic and not compared.
public struct PeerWireError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case invalidProtocolName(length: UInt8)
        case frameTooLarge(length: UInt32, limit: Int)
        case invalidLength(id: UInt8, length: UInt32)
    }

    private let base: Base

    /// The offset in the connection's byte stream where the offending handshake or frame starts, when known.
    public let offset: Int?

    private init(_ base: Base, offset: Int? = nil) {
        self.base = base
        self.offset = offset
    }

    /// The handshake does not start with `\x13BitTorrent protocol`; `length` is the first byte received.
    public static func invalidProtocolName(length: UInt8) -> Self {
        Self(.invalidProtocolName(length: length))
    }

    /// A frame announced a length above the decoder's limit; nothing of that size was allocated.
    public static func frameTooLarge(length: UInt32, limit: Int) -> Self {
        Self(.frameTooLarge(length: length, limit: limit))
    }

    /// A frame's length does not fit its message id (e.g. a `have` that is not 5 bytes).
    public static func invalidLength(messageID: UInt8, length: UInt32) -> Self {
        Self(.invalidLength(id: messageID, length: length))
    }

    /// The same fault, located at `offset` in the byte stream.
    public func at(offset: Int) -> Self {
        Self(base, offset: offset)
    }

    /// The message id of the offending frame, when the fault is about one.
    public var messageID: UInt8? {
        switch base {
        case .invalidLength(let id, _): id
        case .invalidProtocolName, .frameTooLarge: nil
        }
    }

    /// The announced frame length (id plus payload), when the fault is about one.
    public var announcedLength: UInt32? {
        switch base {
        case .invalidLength(_, let length), .frameTooLarge(let length, _): length
        case .invalidProtocolName: nil
        }
    }

    /// Compares the fault, not the offset.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.base == rhs.base }

    /// Hashes the fault, not the offset.
    public func hash(into hasher: inout Hasher) { hasher.combine(base) }

    /// A sentence for logs.
    public var description: String {
        let location = offset.map { " at byte \($0)" } ?? ""
        switch base {
        case .invalidProtocolName(let length):
            return "handshake does not start with \\x13BitTorrent protocol (first byte \(length))\(location)"
        case .frameTooLarge(let length, let limit):
            return "frame of \(length) bytes exceeds the limit of \(limit)\(location)"
        case .invalidLength(let id, let length):
            return "message id \(id) with invalid length \(length)\(location)"
        }
    }
}
