import NIOCore

/// The peers a session is connected to, handshaken or not yet, by key: admitted under a key never used
/// before, looked up, changed, and removed when their connection closes.
///
/// A slot is changed where it is (the subscript yields it to the change) or taken out and put back
/// (``take(_:)`` and ``putBack(_:)``), never copied while the table keeps it too: a copy would make the
/// next change copy the request sets of its state machine (what a message from the peer changes).
struct PeerTable: Sequence {
    private var slots: [PeerKey: PeerSlot] = [:]
    private var nextKey = 0

    /// Admits a peer under a fresh key; `makeSlot` builds its slot for that key.
    mutating func admit(_ makeSlot: (PeerKey) -> PeerSlot) -> PeerKey {
        let key = PeerKey(nextKey)
        nextKey += 1
        let slot = makeSlot(key)
        precondition(slot.key == key, "a peer's slot carries the key it was admitted under")
        slots[key] = slot
        return key
    }

    /// The peer at `key`, or `nil` when it is gone; changed in place through optional chaining.
    subscript(key: PeerKey) -> PeerSlot? {
        get { slots[key] }
        _modify { yield &slots[key] }
    }

    /// Runs `body` on the peer at `key` where it is, and returns what it returns; nil when the peer is
    /// gone. For reading a few fields too: the subscript's getter copies the whole slot (a retain and
    /// a release of each reference it holds: 1.5% of a seeder's time over uTP).
    mutating func withSlot<Result>(_ key: PeerKey, _ body: (inout PeerSlot) -> Result) -> Result? {
        slots.modifyValue(forKey: key, body)
    }

    /// Takes the peer at `key` out while it changes (see ``putBack(_:)``).
    mutating func take(_ key: PeerKey) -> PeerSlot? {
        slots.removeValue(forKey: key)
    }

    /// Puts a peer taken out with ``take(_:)`` back under its key.
    mutating func putBack(_ slot: consuming PeerSlot) {
        slots[slot.key] = slot
    }

    /// Forgets the peer at `key` (its connection closed, or it was refused); returns its slot.
    @discardableResult
    mutating func remove(_ key: PeerKey) -> PeerSlot? {
        slots.removeValue(forKey: key)
    }

    /// Peers connected or connecting.
    var count: Int { slots.count }

    var isEmpty: Bool { slots.isEmpty }

    var keys: Dictionary<PeerKey, PeerSlot>.Keys { slots.keys }

    var values: Dictionary<PeerKey, PeerSlot>.Values { slots.values }

    func makeIterator() -> Dictionary<PeerKey, PeerSlot>.Iterator {
        slots.makeIterator()
    }

    /// Peers past their handshake (the peers a status shows).
    var handshakenCount: Int {
        slots.values.reduce(0) { $1.handshaken ? $0 + 1 : $0 }
    }

    /// Peers past their handshake by source, and those transferring payload each way now.
    func handshakenCounts(at now: ContinuousClock.Instant) -> PeerCounts {
        var counts = PeerCounts()
        for slot in slots.values where slot.handshaken {
            counts.count(
                slot.source, sending: slot.rates.download.peekRate(at: now) > 0,
                getting: slot.rates.upload.peekRate(at: now) > 0)
        }
        return counts
    }

    /// Peers we do not choke (what the choker's free slots are counted against).
    var unchokedCount: Int {
        slots.values.reduce(0) { $1.machine.amChoking ? $0 : $0 + 1 }
    }

    /// The key of a peer connected from or to `address`.
    func key(of address: PeerAddress) -> PeerKey? {
        slots.first { $0.value.address == address }?.key
    }

    /// Closes every peer's connection at once. Each slot leaves the table when its connection's end is
    /// reported.
    func closeConnections() {
        for slot in slots.values { slot.channel.close(promise: nil) }
    }

    /// Closes every connection gracefully: each outbox takes no more frames, its writer sends what is
    /// queued, then shuts the socket's output (see ``PeerOutbox/closeAfterSending()``).
    func closeConnectionsAfterSending() {
        for slot in slots.values { slot.outbox.closeAfterSending() }
    }

    /// True when a peer other than the one at `key` finished its handshake with `peerId`.
    func hasHandshaken(peerId: [UInt8], besides key: PeerKey) -> Bool {
        slots.values.contains { $0.key != key && $0.peerId == peerId && $0.handshaken }
    }
}
