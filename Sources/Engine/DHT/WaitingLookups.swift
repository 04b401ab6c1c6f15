/// Lookups asked of a DHT node while every slot was taken, in the order asked: at most ``capacity``
/// (one per torrent of a large daemon), each under a ticket its asker may withdraw it by.
struct WaitingLookups {
    static let capacity = 20_000

    /// One lookup asked for.
    struct Entry {
        var target: NodeID
        var announcePort: UInt16?
        var continuation: AsyncStream<[PeerAddress]>.Continuation
    }

    private var entries: [(ticket: Int, entry: Entry)] = []
    /// Entries before it were taken; the array is compacted when that is half of it.
    private var head = 0
    private var nextTicket = 0

    var isEmpty: Bool { head == entries.count }

    /// Queues `entry`; its ticket, or `nil` when ``capacity`` wait already.
    mutating func append(_ entry: Entry) -> Int? {
        guard entries.count - head < Self.capacity else { return nil }
        nextTicket += 1
        entries.append((nextTicket, entry))
        return nextTicket
    }

    /// The first waiting entry, taken out.
    mutating func popFirst() -> Entry? {
        guard head < entries.count else { return nil }
        let entry = entries[head].entry
        head += 1
        if head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return entry
    }

    /// Withdraws the entry of `ticket`, if it still waits.
    mutating func remove(_ ticket: Int) {
        guard let index = entries[head...].firstIndex(where: { $0.ticket == ticket }) else { return }
        entries.remove(at: index)
    }
}
