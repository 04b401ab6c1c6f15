/// Where a session started ahead of its download slot (``SessionConfiguration/holdsAfterStartCheck``)
/// waits once its start check is done: the queue decides whether it goes on (it seeds, or a download slot
/// is free) or stops (it waits `queued`, its data checked). Nothing is announced, dialled or accepted
/// before the decision.
///
/// A value the session owns; the first decision stands, and a decision made before anyone waits is kept
/// for whoever asks next.
struct StartHold {
    /// What the queue decided.
    enum Decision: Sendable {
        case goOn
        case stop
    }

    private(set) var decision: Decision?
    /// Callers waiting for the decision: the session's run, and beside it the DHT search of its torrent.
    private var waiters: [CheckedContinuation<Decision, Never>] = []

    /// How many callers wait.
    var waiting: Int { waiters.count }

    /// Resumes `waiter` at once when decided, else keeps it until ``decide(_:)``.
    mutating func wait(_ waiter: CheckedContinuation<Decision, Never>) {
        guard let decision else {
            waiters.append(waiter)
            return
        }
        waiter.resume(returning: decision)
    }

    /// Decides, once: a later decision changes nothing.
    mutating func decide(_ decision: Decision) {
        guard self.decision == nil else { return }
        self.decision = decision
        for waiter in waiters { waiter.resume(returning: decision) }
        waiters = []
    }
}
