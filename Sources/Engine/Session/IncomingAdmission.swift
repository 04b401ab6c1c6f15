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
        /// Whether it still counts as pending, and whether it still counts at all.
        fileprivate let state = Mutex((pending: true, open: true))

        fileprivate init(host: PeerAddress.Host) { self.host = host }
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

    let limits: Limits
    private let counts = Mutex(
        (pending: 0, perAddress: [PeerAddress.Host: Int](), pendingPerAddress: [PeerAddress.Host: Int]()))
    /// Addresses refused until the time given.
    private let penalties = Mutex([PeerAddress.Host: ContinuousClock.Instant]())

    init(limits: Limits) {
        self.limits = limits
    }

    /// Counts a new connection from `host`.
    ///
    /// - Throws: ``Refusal`` (nothing counted) when it is over a limit.
    func admit(_ address: PeerAddress.Host, now: ContinuousClock.Instant = .now) throws(Refusal) -> Ticket {
        let limits = self.limits
        let host = Self.limitKey(address)
        let penalized = penalties.withLock { penalties in
            guard let until = penalties[host] else { return false }
            if until > now { return true }
            penalties[host] = nil
            return false
        }
        if penalized { throw .penalized }
        let refusal: Refusal? = counts.withLock { counts in
            guard counts.pending < limits.maxPending else { return .tooManyPending(limit: limits.maxPending) }
            let current = counts.perAddress[host] ?? 0
            guard current < limits.maxPerAddress else { return .tooManyFromAddress(limit: limits.maxPerAddress) }
            let pendingHere = counts.pendingPerAddress[host] ?? 0
            guard pendingHere < limits.maxPendingPerAddress else {
                return .tooManyPendingFromAddress(limit: limits.maxPendingPerAddress)
            }
            counts.pending += 1
            counts.perAddress[host] = current + 1
            counts.pendingPerAddress[host] = pendingHere + 1
            return nil
        }
        if let refusal { throw refusal }
        return Ticket(host: host)
    }

    /// The connection sent its handshake: it no longer counts as pending (it still counts for its address).
    func handshakeReceived(_ ticket: Ticket) {
        let wasPending = ticket.state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
        guard wasPending else { return }
        counts.withLock { counts in
            counts.pending -= 1
            Self.decrement(&counts.pendingPerAddress, ticket.host)
        }
    }

    private static func decrement(_ table: inout [PeerAddress.Host: Int], _ host: PeerAddress.Host) {
        let left = (table[host] ?? 1) - 1
        table[host] = left > 0 ? left : nil
    }

    /// The connection ended: it no longer counts at all.
    func closed(_ ticket: Ticket) {
        let (wasPending, wasOpen) = ticket.state.withLock { state in
            defer { state = (false, false) }
            return (state.pending, state.open)
        }
        guard wasOpen else { return }
        counts.withLock { counts in
            if wasPending {
                counts.pending -= 1
                Self.decrement(&counts.pendingPerAddress, ticket.host)
            }
            Self.decrement(&counts.perAddress, ticket.host)
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
