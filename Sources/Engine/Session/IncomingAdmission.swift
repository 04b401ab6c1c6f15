import Synchronization

/// Which incoming connections the listening socket takes: at most ``Limits/maxPerAddress`` at once
/// from one IP address (counted for as long as they last, whatever torrent they are for: one
/// listener serves the whole process), of which at most ``Limits/maxPendingPerAddress`` have not sent
/// their handshake yet, and at most ``Limits/maxPending`` at once from everyone that have not sent
/// their handshake yet. (A client downloading many torrents from a seedbox holds a connection per
/// torrent, so the limit on connections that did their handshake is high; one address's connections
/// that say nothing are few.) A connection over either limit is closed as soon as it is accepted; so is
/// one from an address whose peer broke the rules within ``Limits/penalty`` (``penalize(_:now:)``),
/// so that a flooder dropped for a flood cannot start over at once, as often as it likes. An IPv6
/// /64 counts as one address (``limitKey(_:)``): one host usually holds a whole /64, and could
/// otherwise connect from as many addresses as it likes.
///
/// While every place for a handshake is taken, a newcomer from an address that holds at least two
/// fewer of them than the address holding the most takes the place of that address's oldest
/// connection, which is closed (libtorrent likewise takes connections past its limit and drops the
/// least useful). So a few addresses that keep every place full with silent connections, reopened as
/// soon as they are closed, cannot keep an honest peer out: it gets in on its first try. Among
/// addresses holding as many places each, nobody displaces anybody, so they cannot churn each other.
///
/// Shared by the accept loop and the connections' tasks; the counts sit behind a lock.
final class IncomingAdmission: Sendable {
    /// How many connections it takes.
    struct Limits: Sendable {
        /// Most connections accepted at once that have not sent their handshake yet.
        var maxPending: Int
        /// Most connections at once from one IP address.
        var maxPerAddress: Int
        /// Most connections at once from one IP address that have not sent their handshake yet.
        var maxPendingPerAddress: Int = PeerListener.defaultMaxPendingPerAddress
        /// How long an address whose peer broke the rules is refused.
        var penalty: Duration = .seconds(60)
        /// Most addresses refused at once; past it the one whose penalty ends first is forgiven.
        var maxPenalized: Int = 4096
    }

    /// One admitted connection: release it once (see ``handshakeReceived(_:)`` and ``closed(_:)``).
    final class Ticket: Sendable {
        let host: PeerAddress.Host
        /// Whether it still counts as pending, and whether it still counts at all. Changed only under
        /// the admission's lock (``counts``), so that a displacement and a handshake cannot both
        /// release it.
        fileprivate let state = Mutex((pending: true, open: true))
        /// Closes the connection when a newcomer takes its place.
        fileprivate let close: @Sendable () -> Void

        fileprivate init(host: PeerAddress.Host, close: @escaping @Sendable () -> Void) {
            self.host = host
            self.close = close
        }
    }

    /// Why a connection was not taken.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        case tooManyPending(limit: Int)
        case tooManyFromAddress(limit: Int)
        case tooManyPendingFromAddress(limit: Int)
        case penalized

        var description: String {
            switch self {
            case .penalized: "its address broke the rules a short while ago"
            case .tooManyPending(let limit): "more than \(limit) connections waiting for their handshake"
            case .tooManyFromAddress(let limit): "more than \(limit) connections from one address"
            case .tooManyPendingFromAddress(let limit):
                "more than \(limit) connections from one address waiting for their handshake"
            }
        }
    }

    /// The counts against the limits.
    private struct Counts {
        /// Connections that have not sent their handshake yet.
        var pending = 0
        /// Connections by address.
        var perAddress: [PeerAddress.Host: Int] = [:]
        /// Each address's connections that have not sent their handshake yet, oldest first (at most
        /// ``Limits/maxPendingPerAddress`` each, so taking one out is short).
        var waiting: [PeerAddress.Host: [Ticket]] = [:]
        /// Connections closed to make room for a newcomer, in all.
        var displaced = 0

        mutating func release(_ ticket: Ticket, pending wasPending: Bool, open wasOpen: Bool) {
            if wasPending {
                pending -= 1
                if var tickets = waiting.removeValue(forKey: ticket.host) {
                    tickets.removeAll { $0 === ticket }
                    if !tickets.isEmpty { waiting[ticket.host] = tickets }
                }
            }
            if wasOpen {
                let left = (perAddress[ticket.host] ?? 1) - 1
                perAddress[ticket.host] = left > 0 ? left : nil
            }
        }

        /// The oldest waiting connection of the address holding the most places for a handshake, if it
        /// holds at least two more than `host` (see ``IncomingAdmission``), released.
        mutating func displace(for host: PeerAddress.Host) -> Ticket? {
            let mine = waiting[host]?.count ?? 0
            guard let most = waiting.max(by: { $0.value.count < $1.value.count }), most.value.count >= mine + 2,
                let victim = most.value.first
            else { return nil }
            victim.state.withLock { $0 = (false, false) }
            release(victim, pending: true, open: true)
            displaced += 1
            return victim
        }
    }

    let limits: Limits
    private let counts = Mutex(Counts())
    /// Addresses refused until the time given.
    private let penalties = Mutex([PeerAddress.Host: ContinuousClock.Instant]())

    init(limits: Limits) {
        self.limits = limits
    }

    /// Counts a new connection from `host`; `close` closes it, should a newcomer take its place while
    /// it has not sent its handshake (see ``IncomingAdmission``).
    ///
    /// - Throws: ``Refusal`` (nothing counted) when it is over a limit.
    func admit(
        _ address: PeerAddress.Host, now: ContinuousClock.Instant = .now, close: @escaping @Sendable () -> Void
    ) throws(Refusal) -> Ticket {
        let limits = self.limits
        let host = Self.limitKey(address)
        let penalized = penalties.withLock { penalties in
            guard let until = penalties[host] else { return false }
            if until > now { return true }
            penalties[host] = nil
            return false
        }
        if penalized { throw .penalized }
        let ticket = Ticket(host: host, close: close)
        let outcome: Result<Ticket?, Refusal> = counts.withLock { counts in
            let current = counts.perAddress[host] ?? 0
            guard current < limits.maxPerAddress else {
                return .failure(.tooManyFromAddress(limit: limits.maxPerAddress))
            }
            let pendingHere = counts.waiting[host]?.count ?? 0
            guard pendingHere < limits.maxPendingPerAddress else {
                return .failure(.tooManyPendingFromAddress(limit: limits.maxPendingPerAddress))
            }
            var displaced: Ticket?
            if counts.pending >= limits.maxPending {
                guard let victim = counts.displace(for: host) else {
                    return .failure(.tooManyPending(limit: limits.maxPending))
                }
                displaced = victim
            }
            counts.pending += 1
            counts.perAddress[host] = current + 1
            counts.waiting[host, default: []].append(ticket)
            return .success(displaced)
        }
        switch outcome {
        case .failure(let refusal): throw refusal
        case .success(let displaced): displaced?.close()
        }
        return ticket
    }

    /// The connection sent its handshake: it no longer counts as pending (it still counts for its address).
    func handshakeReceived(_ ticket: Ticket) {
        counts.withLock { counts in
            let wasPending = ticket.state.withLock { state in
                defer { state.pending = false }
                return state.pending
            }
            if wasPending { counts.release(ticket, pending: true, open: false) }
        }
    }

    /// The connection ended: it no longer counts at all.
    func closed(_ ticket: Ticket) {
        counts.withLock { counts in
            let (wasPending, wasOpen) = ticket.state.withLock { state in
                defer { state = (false, false) }
                return (state.pending, state.open)
            }
            counts.release(ticket, pending: wasPending, open: wasOpen)
        }
    }

    /// The peer at `host` broke the rules: connections from its address are refused for
    /// ``Limits/penalty``. The table holds at most ``Limits/maxPenalized`` addresses.
    func penalize(_ address: PeerAddress.Host, now: ContinuousClock.Instant = .now) {
        let limits = self.limits
        let host = Self.limitKey(address)
        penalties.withLock { penalties in
            if penalties[host] == nil, penalties.count >= limits.maxPenalized {
                penalties = penalties.filter { $0.value > now }
                if penalties.count >= limits.maxPenalized, let first = penalties.min(by: { $0.value < $1.value }) {
                    penalties[first.key] = nil
                }
            }
            penalties[host] = now + limits.penalty
        }
    }

    /// Addresses refused now or until their next connection attempt.
    var penalizedCount: Int { penalties.withLock { $0.count } }

    /// Connections that have not sent their handshake yet.
    var pending: Int { counts.withLock { $0.pending } }

    /// Connections closed so far to make room for a newcomer.
    var displacedCount: Int { counts.withLock { $0.displaced } }

    /// Connections from `host` now.
    func connections(from host: PeerAddress.Host) -> Int {
        counts.withLock { $0.perAddress[Self.limitKey(host)] ?? 0 }
    }

    /// What the limits count `host` as: an IPv6 address as its /64, any other as itself.
    static func limitKey(_ host: PeerAddress.Host) -> PeerAddress.Host {
        guard case .ipv6(let bytes) = host, bytes.count == 16 else { return host }
        return .ipv6(Array(bytes.prefix(8)) + [UInt8](repeating: 0, count: 8))
    }

    /// Addresses with connections now (the table never holds more).
    var addressCount: Int { counts.withLock { $0.perAddress.count } }
}
