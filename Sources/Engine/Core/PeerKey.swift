/// An opaque handle for one peer connection of a torrent, assigned by the torrent's owner.
///
/// The picker only compares keys; the session hands out a fresh one per connection so that a
/// reconnecting peer never inherits the requests of its previous connection.
public struct PeerKey: Hashable, Comparable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The raw key.
    public var value: Int

    /// Wraps a raw key.
    public init(_ value: Int) { self.value = value }

    /// Allows `let peer: PeerKey = 3`.
    public init(integerLiteral value: Int) { self.value = value }

    /// `peer#N`.
    public var description: String { "peer#\(value)" }

    /// Orders by key.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}
