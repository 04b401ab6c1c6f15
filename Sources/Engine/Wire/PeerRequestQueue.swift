/// The requests a peer made to us that are not served yet, oldest first, with O(1) lookup.
///
/// Appending, finding and removing any request (a `cancel`, a duplicate, a served block) take
/// amortised constant time: requests sit in an array in arrival order, a dictionary maps each to its
/// slot, and a removed request leaves an empty slot that is skipped, and compacted away once empty
/// slots outnumber the live requests. Its size is bounded by whoever appends (the state machine
/// caps it at ``PeerConnectionStateMachine/Configuration/maxPeerRequests``).
public struct PeerRequestQueue: Sendable, Sequence, Equatable, ExpressibleByArrayLiteral {
    private var slots: [BlockRequest?] = []
    /// The first slot that may hold a live request; every slot before it is empty.
    private var head = 0
    /// The slot of each live request.
    private var positions: [BlockRequest: Int] = [:]

    /// An empty queue.
    public init() {}

    /// A queue of `requests` in order (duplicates are kept once).
    public init(arrayLiteral requests: BlockRequest...) {
        for request in requests { append(request) }
    }

    /// The number of requests queued.
    public var count: Int { positions.count }

    /// Whether no request is queued.
    public var isEmpty: Bool { positions.isEmpty }

    /// The oldest request.
    public var first: BlockRequest? { head < slots.count ? slots[head] : nil }

    /// Whether `request` is queued.
    public func contains(_ request: BlockRequest) -> Bool { positions[request] != nil }

    /// Queues `request` last; false (nothing changed) when it is queued already.
    @discardableResult
    public mutating func append(_ request: BlockRequest) -> Bool {
        guard positions[request] == nil else { return false }
        positions[request] = slots.count
        slots.append(request)
        return true
    }

    /// Removes `request`; false when it was not queued.
    @discardableResult
    public mutating func remove(_ request: BlockRequest) -> Bool {
        guard let position = positions.removeValue(forKey: request) else { return false }
        slots[position] = nil
        while head < slots.count, slots[head] == nil { head += 1 }
        if slots.count - head > 2 * positions.count + 32 || (head > 32 && head * 2 > slots.count) { compact() }
        return true
    }

    /// Removes every request and returns them, oldest first.
    public mutating func removeAll() -> [BlockRequest] {
        let all = Array(self)
        slots = []
        head = 0
        positions = [:]
        return all
    }

    /// Walks the live requests, oldest first.
    public struct Iterator: IteratorProtocol {
        fileprivate var slots: ArraySlice<BlockRequest?>.Iterator

        /// The next live request.
        public mutating func next() -> BlockRequest? {
            while let slot = slots.next() {
                if let request = slot { return request }
            }
            return nil
        }
    }

    /// The live requests, oldest first.
    public func makeIterator() -> Iterator {
        Iterator(slots: slots[head...].makeIterator())
    }

    public static func == (lhs: PeerRequestQueue, rhs: PeerRequestQueue) -> Bool {
        lhs.count == rhs.count && lhs.elementsEqual(rhs)
    }

    /// Drops the empty slots and renumbers the live ones.
    private mutating func compact() {
        let live = Array(self)
        slots = live
        head = 0
        positions.removeAll(keepingCapacity: true)
        for (position, request) in live.enumerated() { positions[request] = position }
    }

    /// The number of slots, live or empty (for tests of the compaction bound).
    var slotCount: Int { slots.count - head }
}
