/// Values keyed by uTP sequence number (16 bits, wrapping), in a ring indexed by the number's low
/// bits: the packets a connection has in flight and the packets it keeps out of order lie within a
/// window of consecutive numbers, so finding, adding and removing one is an index into an array, with
/// no hashing (a `Dictionary<UInt16, _>` hashed every packet sent, acked and received with SipHash:
/// 3.5% of a seeder's time over uTP). Each slot keeps its key, and the ring doubles when a key
/// would land on a slot another key holds (the keys spread wider than the ring), up to 65,536 slots,
/// where every key has its own; it starts at 16 and only when the first key comes.
struct UTPSequenceTable<Element: Sendable>: Sendable, Sequence {
    fileprivate struct Slot: Sendable {
        var key: UInt16
        var value: Element
    }

    private var slots: ContiguousArray<Slot?> = []
    /// How many keys the table holds.
    private(set) var count = 0

    static var initialCapacity: Int { 16 }

    init() {}

    var isEmpty: Bool { count == 0 }

    /// The slots the ring has (a power of two, or 0 before the first key).
    var capacity: Int { slots.count }

    private func slot(of key: UInt16) -> Int { Int(key) & (slots.count - 1) }

    subscript(key: UInt16) -> Element? {
        get {
            guard !slots.isEmpty, let slot = slots[slot(of: key)], slot.key == key else { return nil }
            return slot.value
        }
        set {
            if let newValue {
                insert(newValue, for: key)
            } else {
                removeValue(forKey: key)
            }
        }
    }

    /// Removes the key's value and returns it, or nil when the table does not hold the key.
    @discardableResult
    mutating func removeValue(forKey key: UInt16) -> Element? {
        guard !slots.isEmpty else { return nil }
        let index = slot(of: key)
        guard let slot = slots[index], slot.key == key else { return nil }
        slots[index] = nil
        count -= 1
        return slot.value
    }

    /// Forgets every key and gives the ring's memory back.
    mutating func removeAll() {
        slots = []
        count = 0
    }

    private mutating func insert(_ value: Element, for key: UInt16) {
        if slots.isEmpty { slots = ContiguousArray(repeating: nil, count: Self.initialCapacity) }
        while true {
            let index = slot(of: key)
            switch slots[index] {
            case nil:
                slots[index] = Slot(key: key, value: value)
                count += 1
                return
            case let held? where held.key == key:
                slots[index] = Slot(key: key, value: value)
                return
            case _?:
                grow()
            }
        }
    }

    /// Doubles the ring and puts every key in its slot there. At 65,536 slots no two keys share one.
    private mutating func grow() {
        precondition(slots.count < 1 << 16, "two sequence numbers in one slot of a full ring")
        var larger = ContiguousArray<Slot?>(repeating: nil, count: slots.count * 2)
        let mask = larger.count - 1
        for case let slot? in slots { larger[Int(slot.key) & mask] = slot }
        slots = larger
    }

    /// The keys and values, in the ring's order (not the sequence's).
    struct Iterator: IteratorProtocol {
        fileprivate var slots: ContiguousArray<Slot?>.Iterator

        mutating func next() -> (key: UInt16, value: Element)? {
            while let slot = slots.next() {
                if let slot { return (slot.key, slot.value) }
            }
            return nil
        }
    }

    func makeIterator() -> Iterator { Iterator(slots: slots.makeIterator()) }
}
