/// The pieces of one priority level ordered by a small integer key (their availability), rarest
/// first, with random order among pieces of equal key; the data structure of libtorrent's picker.
///
/// Pieces live in one array grouped in contiguous buckets, one bucket per key. Moving a piece to the
/// next or previous bucket is one swap and one boundary shift, O(1), so a `have` message costs O(1);
/// inserting or removing a piece costs O(number of buckets above it). Each move also swaps the piece
/// with a random member of its new bucket, which keeps ties in random order.
struct RarityIndex: Sendable {
    /// The pieces, bucket by bucket in ascending key order.
    private(set) var order: [Int32] = []
    /// `ends[k]` is one past the last index of bucket `k` in ``order``; `ends.last == order.count`.
    private var ends: [Int] = []
    /// Per piece: its index in ``order``, or -1 when absent.
    private var position: [Int32]
    /// Per piece: its bucket (valid only when present).
    private var bucket: [Int32]

    /// An empty index for pieces `0..<pieceCount`.
    init(pieceCount: Int) {
        position = Array(repeating: -1, count: pieceCount)
        bucket = Array(repeating: 0, count: pieceCount)
    }

    /// The number of pieces held.
    var count: Int { order.count }

    /// True when `piece` is held.
    func contains(_ piece: Int) -> Bool { position[piece] >= 0 }

    /// The key `piece` was filed under.
    func key(of piece: Int) -> Int { Int(bucket[piece]) }

    /// The index in ``order`` where bucket `key` starts (``count`` when past the last bucket).
    func start(ofBucket key: Int) -> Int {
        guard key > 0 else { return 0 }
        return key <= ends.count ? ends[key - 1] : order.count
    }

    /// Adds `piece` under `key`.
    mutating func insert(_ piece: Int, key: Int, using random: inout SeededRandom) {
        precondition(!contains(piece), "piece \(piece) already indexed")
        precondition(key >= 0, "negative key")
        growBuckets(through: key)
        order.append(Int32(piece))
        position[piece] = Int32(order.count - 1)
        bucket[piece] = Int32(ends.count - 1)
        ends[ends.count - 1] += 1
        // Walk down from the top bucket: become the first of the current bucket, then hand the slot
        // over to the bucket below by moving the boundary.
        var current = ends.count - 1
        while current > key {
            swapPositions(Int(position[piece]), start(ofBucket: current))
            ends[current - 1] += 1
            current -= 1
        }
        bucket[piece] = Int32(key)
        shuffleIntoBucket(piece, using: &random)
    }

    /// Removes `piece`.
    mutating func remove(_ piece: Int) {
        precondition(contains(piece), "piece \(piece) not indexed")
        var current = Int(bucket[piece])
        // Walk up: become the last of the current bucket, then join the bucket above as its first.
        swapPositions(Int(position[piece]), ends[current] - 1)
        while current < ends.count - 1 {
            ends[current] -= 1
            current += 1
            swapPositions(Int(position[piece]), ends[current] - 1)
        }
        ends[current] -= 1
        order.removeLast()
        position[piece] = -1
    }

    /// Moves `piece` to bucket `key`.
    mutating func update(_ piece: Int, key: Int, using random: inout SeededRandom) {
        precondition(contains(piece), "piece \(piece) not indexed")
        var current = Int(bucket[piece])
        guard current != key else { return }
        growBuckets(through: key)
        while current < key {
            swapPositions(Int(position[piece]), ends[current] - 1)
            ends[current] -= 1
            current += 1
        }
        while current > key {
            swapPositions(Int(position[piece]), start(ofBucket: current))
            ends[current - 1] += 1
            current -= 1
        }
        bucket[piece] = Int32(key)
        shuffleIntoBucket(piece, using: &random)
    }

    private mutating func growBuckets(through key: Int) {
        while ends.count <= key { ends.append(order.count) }
    }

    /// Swaps `piece` with a random member of its bucket.
    private mutating func shuffleIntoBucket(_ piece: Int, using random: inout SeededRandom) {
        let key = Int(bucket[piece])
        let range = start(ofBucket: key)..<ends[key]
        swapPositions(Int(position[piece]), Int.random(in: range, using: &random))
    }

    private mutating func swapPositions(_ first: Int, _ second: Int) {
        guard first != second else { return }
        let a = Int(order[first])
        let b = Int(order[second])
        order.swapAt(first, second)
        position[a] = Int32(second)
        position[b] = Int32(first)
    }
}
