/// The pieces a peer has, packed as on the wire: one bit per piece, most significant bit of the
/// first byte for piece 0, spare bits of the last byte clear.
///
/// Keeps its count of set bits, so "is this peer a seed" is O(1).
public struct PeerBitfield: Hashable, Sendable, CustomStringConvertible {
    /// The number of pieces.
    public let count: Int
    /// The packed bytes: `byteCount(forPieceCount: count)` of them, spare bits clear.
    public private(set) var bytes: [UInt8]
    /// The number of pieces present.
    public private(set) var cardinality: Int

    /// The bytes a bitfield of `pieceCount` pieces takes.
    public static func byteCount(forPieceCount pieceCount: Int) -> Int {
        precondition(pieceCount >= 0, "a piece count is not negative")
        return (pieceCount + 7) / 8
    }

    /// An empty bitfield of `count` pieces.
    public init(count: Int) {
        self.count = count
        self.bytes = [UInt8](repeating: 0, count: Self.byteCount(forPieceCount: count))
        self.cardinality = 0
    }

    /// A bitfield with all `count` pieces present.
    public static func full(count: Int) -> PeerBitfield {
        var bitfield = PeerBitfield(count: count)
        guard count > 0 else { return bitfield }
        for i in bitfield.bytes.indices { bitfield.bytes[i] = 0xFF }
        let spare = bitfield.bytes.count * 8 - count
        bitfield.bytes[bitfield.bytes.count - 1] = 0xFF << spare
        bitfield.cardinality = count
        return bitfield
    }

    /// Wraps received bytes; `nil` unless there are exactly `byteCount(forPieceCount: count)` of
    /// them with the spare bits clear.
    public init?(bytes: some Collection<UInt8>, count: Int) {
        let bytes = Array(bytes)
        guard bytes.count == Self.byteCount(forPieceCount: count), !Self.hasSpareBitsSet(bytes, count: count) else {
            return nil
        }
        self.count = count
        self.bytes = bytes
        self.cardinality = bytes.reduce(0) { $0 + $1.nonzeroBitCount }
    }

    /// Whether a bit past `count` is set in the last of `bytes`, which hold `byteCount(forPieceCount: count)` bytes.
    private static func hasSpareBitsSet(_ bytes: [UInt8], count: Int) -> Bool {
        let spare = bytes.count * 8 - count
        guard spare > 0, let last = bytes.last else { return false }
        return last & (0xFF >> (8 - spare)) != 0
    }

    /// Whether piece `index` is present; `false` when it is out of range.
    public func contains(_ index: PieceIndex) -> Bool {
        guard index.intValue < count else { return false }
        return bytes[index.intValue / 8] & Self.mask(index) != 0
    }

    /// Marks piece `index` present; returns `false` if it already was. `index` must be in range.
    @discardableResult
    public mutating func insert(_ index: PieceIndex) -> Bool {
        precondition(index.intValue < count, "piece index out of range")
        let mask = Self.mask(index)
        guard bytes[index.intValue / 8] & mask == 0 else { return false }
        bytes[index.intValue / 8] |= mask
        cardinality += 1
        return true
    }

    /// Marks piece `index` absent; returns `false` if it already was. `index` must be in range.
    @discardableResult
    public mutating func remove(_ index: PieceIndex) -> Bool {
        precondition(index.intValue < count, "piece index out of range")
        let mask = Self.mask(index)
        guard bytes[index.intValue / 8] & mask != 0 else { return false }
        bytes[index.intValue / 8] &= ~mask
        cardinality -= 1
        return true
    }

    /// Whether every piece is present (a seed). An empty torrent counts as complete.
    public var isFull: Bool { cardinality == count }
    /// Whether no piece is present.
    public var isEmpty: Bool { cardinality == 0 }

    /// The present pieces in ascending order.
    public var indices: [PieceIndex] {
        (0..<count).map { PieceIndex(UInt32($0)) }.filter { contains($0) }
    }

    /// One character per piece, `1` present and `0` absent, e.g. `10110`.
    public var description: String {
        String((0..<count).map { contains(PieceIndex(UInt32($0))) ? "1" : "0" })
    }

    private static func mask(_ index: PieceIndex) -> UInt8 {
        0x80 >> UInt8(index.rawValue % 8)
    }
}
