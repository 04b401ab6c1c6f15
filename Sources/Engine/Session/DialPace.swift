import NIOCore
import Synchronization

/// The pace of outgoing connection attempts over every torrent of a process (the setting
/// `dials_per_second`), as libtorrent's `connection_speed` and Transmission's connections per second: a
/// daemon seeding thousands of torrents whose trackers list peers that are gone spends its time dialling
/// them (each attempt a socket, a uTP probe, a task), and at the start of many torrents at once it would
/// open thousands of half-open connections in one burst.
///
/// A token bucket of one second's attempts, refilled continuously. A session takes what it needs while the
/// bucket has tokens and nobody waits; the rest of its due addresses wait in turn (``wait(_:wake:)``): as
/// tokens come back, the sessions waiting get one each, first come first served, and are woken to dial. A
/// session with more to dial then waits again at the back, so that every torrent gets its share of a
/// crowded pace, as libtorrent hands its quota round the torrents. A run's first attempts to addresses
/// that never failed do not wait (see ``SessionConfiguration/dialBoost``), as libtorrent's
/// `torrent_connect_boost`: a torrent that starts reaches its first peers at once.
package final class DialPace: Sendable {
    /// The default pace, libtorrent's.
    package static let defaultPerSecond = 30

    /// Attempts per second.
    package let perSecond: Int
    private let state: Mutex<DialPaceState>
    private let clock: @Sendable () -> ContinuousClock.Instant
    /// The job that hands tokens to waiting sessions: rests while nobody waits.
    private let job = Mutex<ScheduledJob?>(nil)

    /// A pace of `perSecond` attempts (at least 1), its hand-outs a job of `scheduler`, its time
    /// `clock`'s.
    package init(
        perSecond: Int = DialPace.defaultPerSecond, scheduler: Scheduler = .shared,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        let state = DialPaceState(perSecond: perSecond, now: clock())
        self.perSecond = state.perSecond
        self.state = Mutex(state)
        self.clock = clock
        // Inline: a hand-out runs on the scheduler's loop when its timer fires, in no task of its own.
        let handOuts = scheduler.add(
            at: nil,
            inline: { [weak self] () -> Scheduler.Next in
                guard let self else { return .done }
                return self.handOut(now: self.clock())
            })
        job.withLock { $0 = handOuts }
    }

    deinit {
        job.withLock { $0 }?.cancel()
    }

    /// Takes at most `wanted` attempts for `member` now: its grants first, then the bucket's tokens while
    /// nobody waits. Returns how many it may make.
    package func take(_ wanted: Int, for member: ObjectIdentifier) -> Int {
        state.withLock { $0.take(wanted, for: member, now: clock()) }
    }

    /// `member` has addresses due that the pace held back: it is woken (`wake`) when its turn gives it an
    /// attempt (then ``take(_:for:)`` returns it). Waiting already, it keeps its place.
    package func wait(_ member: ObjectIdentifier, wake: @escaping @Sendable () -> Void) {
        if state.withLock({ $0.wait(member, wake: wake) }) { job.withLock { $0 }?.poke() }
    }

    /// Whether `member` waits for its turn (so it needs no tick to dial).
    package func isWaiting(_ member: ObjectIdentifier) -> Bool {
        state.withLock { $0.isWaiting(member) }
    }

    /// `member` stops dialling (its run ended): it waits no more, and attempts granted and not taken go back
    /// to the bucket.
    package func leave(_ member: ObjectIdentifier) {
        state.withLock { $0.leave(member, now: clock()) }
    }

    /// Gives the waiting sessions the tokens that came back, wakes them, and rests until the next token or
    /// the next wait.
    private func handOut(now: ContinuousClock.Instant) -> Scheduler.Next {
        let (wakes, next) = state.withLock { $0.handOut(now: now) }
        for wake in wakes { wake() }
        return .rest(until: next)
    }
}

/// One dialler's place under the process's ``DialPace`` (a torrent's run, a magnet's metadata fetch):
/// which of its due addresses it dials now, and its first attempts, which wait for no turn.
struct DialTurns {
    let pace: DialPace
    /// Attempts to addresses never failed it may still make without a turn (libtorrent's
    /// `torrent_connect_boost`, ``SessionConfiguration/dialBoost``). A retry of an address that failed
    /// always waits for the pace: a torrent whose tracker lists gone peers spends no boost on them.
    private(set) var boost: Int
    private let member: ObjectIdentifier
    /// How the dialler is woken when its turn comes.
    private let wake: @Sendable () -> Void

    init(pace: DialPace, member: AnyObject, boost: Int, wake: @escaping @Sendable () -> Void) {
        self.pace = pace
        self.member = ObjectIdentifier(member)
        self.boost = max(0, boost)
        self.wake = wake
    }

    /// Whether looking for addresses to dial is worth it now: not while it waits its turn with no boost
    /// left (the pace wakes it).
    var mayDial: Bool { boost > 0 || !pace.isWaiting(member) }

    /// Whether it waits its turn.
    var isWaiting: Bool { pace.isWaiting(member) }

    /// Of `due` (taken from `candidates`, addresses never failed first, see
    /// ``PeerCandidateTable/takeDue(now:room:where:)``), those dialled now: the fresh ones its boost
    /// covers, then as many as the pace allows. The rest go back to `candidates`, due as they were, and
    /// the dialler waits its turn.
    mutating func admit(_ due: [PeerAddress], from candidates: inout PeerCandidateTable) -> [PeerAddress] {
        let fresh = due.prefix { candidates[$0]?.failures == 0 }.count
        let boosted = min(fresh, boost)
        boost -= boosted
        let allowed = boosted + pace.take(due.count - boosted, for: member)
        guard allowed < due.count else { return due }
        for address in due[allowed...] { candidates.release(address) }
        pace.wait(member, wake: wake)
        return Array(due[..<allowed])
    }

    /// The dialler stops (its run ended): its place and any grant not taken go back.
    func leave() {
        pace.leave(member)
    }
}

/// What a ``DialPace`` decides, without its lock and clock (tests step it with instants of their own).
struct DialPaceState {
    /// Attempts per second, and the most the bucket holds.
    let perSecond: Int
    /// Tokens in the bucket (a fraction while one refills).
    private(set) var tokens: Double
    private var updated: ContinuousClock.Instant
    /// Sessions waiting for an attempt, first come first served, with how each is woken.
    private var queue = CircularBuffer<ObjectIdentifier>()
    private var wakes: [ObjectIdentifier: @Sendable () -> Void] = [:]
    /// Attempts handed to woken sessions and not taken yet.
    private(set) var granted: [ObjectIdentifier: Int] = [:]

    init(perSecond: Int, now: ContinuousClock.Instant) {
        self.perSecond = max(1, perSecond)
        self.tokens = Double(self.perSecond)
        self.updated = now
    }

    /// Sessions waiting.
    var waitingCount: Int { wakes.count }

    func isWaiting(_ member: ObjectIdentifier) -> Bool { wakes[member] != nil }

    mutating func take(_ wanted: Int, for member: ObjectIdentifier, now: ContinuousClock.Instant) -> Int {
        guard wanted > 0 else { return 0 }
        var taken = 0
        if let credit = granted[member] {
            taken = min(credit, wanted)
            granted[member] = credit == taken ? nil : credit - taken
        }
        guard taken < wanted, wakes.isEmpty else { return taken }
        refill(now: now)
        let more = min(wanted - taken, Int(tokens))
        tokens -= Double(more)
        return taken + more
    }

    /// Queues `member` (true), or keeps its place (false) when it waits already.
    @discardableResult
    mutating func wait(_ member: ObjectIdentifier, wake: @escaping @Sendable () -> Void) -> Bool {
        guard wakes.updateValue(wake, forKey: member) == nil else { return false }
        queue.append(member)
        return true
    }

    mutating func leave(_ member: ObjectIdentifier, now: ContinuousClock.Instant) {
        if wakes.removeValue(forKey: member) != nil, let index = queue.firstIndex(of: member) {
            queue.remove(at: index)
        }
        if let credit = granted.removeValue(forKey: member) {
            refill(now: now)
            tokens = min(Double(perSecond), tokens + Double(credit))
        }
    }

    /// One token each to the sessions waiting longest, as many as the bucket holds; their wakes, and when
    /// the next token comes if some still wait (`nil`: nobody waits).
    mutating func handOut(
        now: ContinuousClock.Instant
    ) -> (wakes: [@Sendable () -> Void], next: ContinuousClock.Instant?) {
        refill(now: now)
        var woken: [@Sendable () -> Void] = []
        while tokens >= 1, let member = queue.popFirst(), let wake = wakes.removeValue(forKey: member) {
            tokens -= 1
            granted[member, default: 0] += 1
            woken.append(wake)
        }
        guard !wakes.isEmpty else { return (woken, nil) }
        let missing = max(0, 1 - tokens)
        return (woken, now + .seconds(missing / Double(perSecond)))
    }

    private mutating func refill(now: ContinuousClock.Instant) {
        guard now > updated else { return }
        let elapsed = now - updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(Double(perSecond), tokens + seconds * Double(perSecond))
        updated = now
    }
}
