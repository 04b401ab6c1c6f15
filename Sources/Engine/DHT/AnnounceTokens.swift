import Crypto

/// The tokens a DHT node hands out with `get_peers` answers and checks in `announce_peer` queries
/// (BEP 5): the SHA-1 of the querier's IP address and a secret that changes every ``rotation``; a
/// token made with the current or the previous secret is accepted, so a token lasts from one to two
/// rotations. Nothing is stored per querier.
public struct AnnounceTokens: Sendable {
    /// How often the secret changes.
    public static let rotation: Duration = .seconds(5 * 60)
    /// Bytes of a token (of the SHA-1).
    public static let length = 8

    private var current: [UInt8]
    private var previous: [UInt8]
    private var rotatedAt: ContinuousClock.Instant

    public init(now: ContinuousClock.Instant = .now) {
        current = Self.secret()
        previous = Self.secret()
        rotatedAt = now
    }

    /// The token for a querier at `address` (its IP bytes, 4 or 16).
    public mutating func token(for address: [UInt8], at now: ContinuousClock.Instant) -> [UInt8] {
        rotateIfDue(at: now)
        return Self.token(address, current)
    }

    /// True when `token` was handed to a querier at `address` within the last two rotations.
    public mutating func isValid(_ token: [UInt8], for address: [UInt8], at now: ContinuousClock.Instant) -> Bool {
        rotateIfDue(at: now)
        return token == Self.token(address, current) || token == Self.token(address, previous)
    }

    private mutating func rotateIfDue(at now: ContinuousClock.Instant) {
        let elapsed = now - rotatedAt
        guard elapsed >= Self.rotation else { return }
        // Two rotations or more since the last: both secrets are stale.
        previous = elapsed >= Self.rotation * 2 ? Self.secret() : current
        current = Self.secret()
        rotatedAt = now
    }

    private static func secret() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    private static func token(_ address: [UInt8], _ secret: [UInt8]) -> [UInt8] {
        Array(Insecure.SHA1.hash(data: address + secret).prefix(length))
    }
}
