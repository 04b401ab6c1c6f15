import NIOCore

/// The addresses a torrent session (or a metadata fetch) may dial, with when each may be tried next.
///
/// Bounded: it holds at most ``Limits/capacity`` addresses, of which at most ``Limits/pexCapacity``
/// learned through peer exchange, so a flood of addresses from trackers or peers cannot grow it. When
/// it is full, a new address takes the place of a known one that keeps failing (the one with the most
/// failures), or is not taken. An address that fails ``Limits/maxFailures`` times in a row (it cannot
/// be reached, or closes before its handshake) is forgotten; after its n-th failure in a row it waits
/// n + 1 times ``Limits/failureDelay`` (libtorrent's `min_reconnect_time` and `max_failcount`: 2, then
/// 3 minutes, 3 attempts in all), after a clean close ``Limits/retryDelay``. Banned addresses are kept,
/// so that they are never dialled again, and are never displaced; so are the user's own addresses
/// (`--peer`), retried sooner (see ``backOff(failures:source:)``).
///
/// A forgotten address is remembered for ``Limits/forgottenFor`` (at most ``Limits/capacity`` of them,
/// the oldest let go first): the DHT or a peer listing it again meanwhile does not bring it back, and a
/// tracker listing it again brings it back for one attempt (libtorrent takes one failure off a peer a
/// tracker lists: somebody else may reach it). So a peer that is gone, still listed at every announce,
/// costs one attempt per announce rather than all of them again. The user's addresses and a peer that
/// connects to us are taken at once.
struct PeerCandidateTable {
    /// How large the table grows and how long it keeps failing addresses.
    struct Limits: Sendable {
        /// Most addresses kept.
        var capacity: Int
        /// Most of them learned through peer exchange (BEP 11).
        var pexCapacity: Int
        /// Failures in a row after which an address is forgotten.
        var maxFailures: Int
        /// The wait after a clean close.
        var retryDelay: Duration
        /// After the n-th failure in a row, the wait is n + 1 times this.
        var failureDelay: Duration
        /// How long a forgotten address is not taken back from trackers, the DHT or peer exchange.
        var forgottenFor: Duration

        /// The limits a session configuration sets.
        init(_ configuration: SessionConfiguration) {
            self.init(
                capacity: configuration.maxPeerCandidates, pexCapacity: ExtensionProtocol.maxPexCandidates,
                maxFailures: configuration.maxConnectAttempts, retryDelay: configuration.reconnectDelay,
                failureDelay: configuration.failedReconnectDelay)
        }

        init(
            capacity: Int, pexCapacity: Int, maxFailures: Int, retryDelay: Duration, failureDelay: Duration,
            forgottenFor: Duration = .seconds(3600)
        ) {
            self.capacity = max(1, capacity)
            self.pexCapacity = max(0, min(pexCapacity, capacity))
            self.maxFailures = max(1, maxFailures)
            self.retryDelay = retryDelay
            self.failureDelay = failureDelay
            self.forgottenFor = forgottenFor
        }
    }

    let limits: Limits
    private var entries: [PeerAddress: PeerCandidate] = [:]
    /// Entries with ``PeerCandidate/isConnecting`` set.
    private(set) var connectingCount = 0
    /// Entries whose source is PEX.
    private(set) var pexCount = 0
    /// Addresses forgotten after failing ``Limits/maxFailures`` times or displaced by new ones.
    private(set) var forgottenCount = 0
    /// The addresses forgotten lately, with when, oldest first (see ``Limits/forgottenFor``). An address
    /// forgotten again is appended again: a ring entry whose time is not the address's in `forgotten` is
    /// stale and only let go of. The ring is made at the first address forgotten: thousands of idle
    /// seeds that forget nothing hold none.
    private var forgotten: [PeerAddress: ContinuousClock.Instant] = [:]
    private var forgottenOrder: CircularBuffer<(address: PeerAddress, at: ContinuousClock.Instant)>?

    init(limits: Limits) {
        self.limits = limits
    }

    /// How many addresses it holds.
    var count: Int { entries.count }

    /// Every entry, in no order.
    var values: Dictionary<PeerAddress, PeerCandidate>.Values { entries.values }

    /// The entry of `address`. Setting an unknown address adds it within the limits (see
    /// ``insert(_:)``); setting `nil` removes it.
    subscript(address: PeerAddress) -> PeerCandidate? {
        get { entries[address] }
        set {
            guard let newValue else {
                if let old = entries.removeValue(forKey: address) { count(old, -1) }
                return
            }
            guard let old = entries[address] else {
                insert(newValue)
                return
            }
            count(old, -1)
            count(newValue, 1)
            entries[address] = newValue
        }
    }

    /// Adds the addresses not known yet (port 0 is nobody's), as candidates from `source` due at
    /// `notBefore`, within the limits. Returns how many were added.
    @discardableResult
    mutating func add(
        _ addresses: some Sequence<PeerAddress>, source: PeerUpdate.Source, notBefore: ContinuousClock.Instant
    ) -> Int {
        var added = 0
        var evictable: [PeerAddress]?
        let remembers = source != .manual && source != .incoming
        if remembers { letGoOfForgotten(now: notBefore) }
        for address in addresses where address.port != 0 && entries[address] == nil {
            var failures = 0
            if remembers, forgotten[address] != nil {
                // Remembered as gone: a tracker's listing gives it one more attempt, other sources none.
                guard source == .tracker else { continue }
                failures = limits.maxFailures - 1
            }
            if source == .pex, pexCount >= limits.pexCapacity { break }
            if entries.count >= limits.capacity {
                if evictable == nil { evictable = evictionOrder() }
                guard let victim = evictable?.popLast() else { break }
                forget(victim, now: notBefore)
            }
            var candidate = PeerCandidate(address: address, source: source, nextAttempt: notBefore)
            candidate.failures = failures
            entries[address] = candidate
            count(candidate, 1)
            added += 1
        }
        return added
    }

    /// Adds `candidate` when its address is unknown and the limits allow it; a banned one is always
    /// taken (displacing a failing address if the table is full). Returns whether it is in the table.
    @discardableResult
    mutating func insert(_ candidate: PeerCandidate) -> Bool {
        if entries[candidate.address] != nil { return true }
        if candidate.source == .pex, pexCount >= limits.pexCapacity, !candidate.banned { return false }
        if entries.count >= limits.capacity {
            if let victim = evictionOrder().last {
                forget(victim, now: candidate.nextAttempt)
            } else if !candidate.banned {
                return false
            }
        }
        entries[candidate.address] = candidate
        count(candidate, 1)
        return true
    }

    /// Bans `address` (adding it if unknown, from `source`): it is never dialled again.
    mutating func ban(_ address: PeerAddress, source: PeerUpdate.Source) {
        if entries[address] == nil {
            var candidate = PeerCandidate(address: address, source: source, nextAttempt: .now)
            candidate.banned = true
            insert(candidate)
        } else {
            self[address]?.banned = true
        }
    }

    /// The dialling policy of a torrent's session and of a magnet's metadata fetch alike: the addresses to
    /// dial now, as many as the limits leave room for (`maxPeers` counts the `connected` peers and those
    /// being connected; at most `maxConnecting` attempts at once), taken as ``takeDue(now:room:where:)``
    /// does, with the back-off of ``closed(_:failed:now:)`` between attempts.
    mutating func takeDue(
        now: ContinuousClock.Instant, connected: Int, maxPeers: Int, maxConnecting: Int,
        where eligible: (PeerCandidate) -> Bool = { _ in true }
    ) -> [PeerAddress] {
        let room = min(maxPeers - connected - connectingCount, maxConnecting - connectingCount)
        return takeDue(now: now, room: room, where: eligible)
    }

    /// Picks at most `room` addresses due at `now` that are neither banned, connected nor being
    /// connected and that `eligible` accepts, and marks them as being connected. Addresses never failed
    /// come first, then those that failed least: when attempts are scarce (``DialPace``), a peer just
    /// learned goes before one that keeps failing.
    mutating func takeDue(
        now: ContinuousClock.Instant, room: Int, where eligible: (PeerCandidate) -> Bool = { _ in true }
    ) -> [PeerAddress] {
        guard room > 0 else { return [] }
        var chosen: [PeerAddress] = []
        var failing: [(address: PeerAddress, failures: Int)] = []
        for (address, candidate) in entries
        where !candidate.banned && !candidate.isConnected && !candidate.isConnecting && candidate.nextAttempt <= now
            && eligible(candidate)
        {
            guard candidate.failures == 0 else {
                failing.append((address, candidate.failures))
                continue
            }
            chosen.append(address)
            if chosen.count == room { break }
        }
        if chosen.count < room, !failing.isEmpty {
            failing.sort { $0.failures < $1.failures }
            chosen += failing.prefix(room - chosen.count).map(\.address)
        }
        for address in chosen { self[address]?.isConnecting = true }
        return chosen
    }

    /// Gives back `address`, taken by ``takeDue(now:room:where:)`` and not dialled (the pace held it back):
    /// it is due again as it was, with no failure counted.
    mutating func release(_ address: PeerAddress) {
        guard let candidate = entries[address], candidate.isConnecting else { return }
        self[address]?.isConnecting = false
    }

    /// The earliest time an address `eligible` accepts (neither banned, connected nor being connected)
    /// may be dialled; `nil` when there is none.
    func nextAttempt(where eligible: (PeerCandidate) -> Bool = { _ in true }) -> ContinuousClock.Instant? {
        var earliest: ContinuousClock.Instant?
        for candidate in entries.values
        where !candidate.banned && !candidate.isConnected && !candidate.isConnecting && eligible(candidate) {
            if earliest.map({ candidate.nextAttempt < $0 }) ?? true { earliest = candidate.nextAttempt }
        }
        return earliest
    }

    /// A connection to `address` is open (dialled, or it came in).
    mutating func connected(_ address: PeerAddress) {
        guard var candidate = entries[address] else { return }
        candidate.isConnecting = false
        candidate.isConnected = true
        self[address] = candidate
    }

    /// `address` completed its handshake: its failures in a row start over.
    mutating func handshaken(_ address: PeerAddress) {
        self[address]?.failures = 0
    }

    /// A connection to `address` failed or closed; `failed` counts it as a failure (it could not be
    /// reached, closed before its handshake, or was dropped for misbehaving). The address may be tried
    /// again after the back-off, or is forgotten after ``Limits/maxFailures`` failures in a row.
    mutating func closed(_ address: PeerAddress, failed: Bool, now: ContinuousClock.Instant) {
        guard var candidate = entries[address] else { return }
        candidate.isConnecting = false
        candidate.isConnected = false
        if failed { candidate.failures += 1 }
        if candidate.failures >= limits.maxFailures, !candidate.banned, candidate.source != .manual {
            forget(address, now: now)
            return
        }
        candidate.nextAttempt = now + backOff(failures: candidate.failures, source: candidate.source)
        self[address] = candidate
    }

    /// Counts a failure against `address` without a connection ending (it is still being closed):
    /// the same as ``closed(_:failed:now:)`` later, once more.
    mutating func failed(_ address: PeerAddress) {
        self[address]?.failures += 1
    }

    /// The wait before the next attempt after `failures` failures in a row (none: a clean close), for an
    /// address from `source`. The user's own addresses (`--peer`) wait the clean close's delay doubled per
    /// failure (at most 64 times), and are never forgotten nor displaced: the user asked for that peer,
    /// which may be slow to come up.
    func backOff(failures: Int, source: PeerUpdate.Source = .tracker) -> Duration {
        guard failures > 0 else { return limits.retryDelay }
        if source == .manual { return limits.retryDelay * (1 << min(failures, 6)) }
        return limits.failureDelay * (min(failures, 1 << 16) + 1)
    }

    /// Idle, unbanned addresses that failed at least once, the most failures last.
    private func evictionOrder() -> [PeerAddress] {
        entries.values
            .filter { $0.failures > 0 && !$0.banned && !$0.isConnected && !$0.isConnecting && $0.source != .manual }
            .sorted { $0.failures < $1.failures }
            .map(\.address)
    }

    private mutating func remove(_ address: PeerAddress) {
        if let old = entries.removeValue(forKey: address) { count(old, -1) }
    }

    /// Removes `address` and remembers it as forgotten at `now`, within the bound.
    private mutating func forget(_ address: PeerAddress, now: ContinuousClock.Instant) {
        remove(address)
        forgottenCount += 1
        var order = forgottenOrder.take() ?? CircularBuffer(initialCapacity: 16)
        forgotten[address] = now
        order.append((address, now))
        while order.count > limits.capacity, let oldest = order.popFirst() {
            letGo(oldest)
        }
        forgottenOrder = order
    }

    /// Lets go of the addresses forgotten longer than ``Limits/forgottenFor`` before `now`.
    private mutating func letGoOfForgotten(now: ContinuousClock.Instant) {
        guard var order = forgottenOrder.take() else { return }
        while let oldest = order.first, now - oldest.at >= limits.forgottenFor {
            order.removeFirst()
            letGo(oldest)
        }
        forgottenOrder = order
    }

    /// Lets go of the ring's entry `entry`, unless the address was forgotten again since (a later entry).
    private mutating func letGo(_ entry: (address: PeerAddress, at: ContinuousClock.Instant)) {
        if forgotten[entry.address] == entry.at { forgotten[entry.address] = nil }
    }

    /// Addresses remembered as forgotten (see ``Limits/forgottenFor``).
    var rememberedForgottenCount: Int { forgotten.count }

    private mutating func count(_ candidate: PeerCandidate, _ delta: Int) {
        if candidate.isConnecting { connectingCount += delta }
        if candidate.source == .pex { pexCount += delta }
    }

    /// A peer that dialled us and named its listen port (`p`) may be dialled back once it left, from
    /// `retryAt` on: its listen address becomes a candidate, unless known already or the peer is banned.
    mutating func rememberListenAddress(of slot: PeerSlot, retryAt: ContinuousClock.Instant) {
        guard slot.source == .incoming, slot.handshaken, let address = slot.listenAddress, address != slot.address,
            self[address] == nil, self[slot.address]?.banned != true
        else { return }
        self[address] = PeerCandidate(address: address, source: .incoming, nextAttempt: retryAt)
    }
}
