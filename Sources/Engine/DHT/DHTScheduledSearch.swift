import Synchronization

/// A torrent's DHT search (``DHTTorrentSearch``: a lookup at once, then again at its pace) as a job of a
/// ``Scheduler``: each lookup runs in a task while it lasts, and between lookups the search holds no task,
/// only its job's deadline. A daemon seeding thousands of torrents, each looking the DHT up every
/// ``DHTTorrentSearch/interval``, holds no sleeping task per torrent.
package final class DHTScheduledSearch: Sendable {
    private struct State {
        var job: ScheduledJob?
        /// The lookup on its way, cancelled by ``stop()``.
        var lookup: Task<Void, Never>?
        var pacing = DHTTorrentSearch.Pacing()
        /// Whether the first run asked whether to go on.
        var asked = false
        var stopped = false
        var lookups = 0
    }

    private let state = Mutex(State())

    private init() {}

    /// Lookups started so far.
    package var lookups: Int { state.withLock { $0.lookups } }

    /// Starts a search of `infoHash` on `scheduler`: its first run asks `goOn` (false ends the search with no
    /// lookup: a download held after its start check that was stopped), then each run looks up, hands the
    /// peers found (but `excluding`) to `found`, and asks `shortOfPeers` to pace the next one.
    package static func start(
        on scheduler: Scheduler, _ dht: DHTNodes, infoHash: [UInt8], announcePort: UInt16?,
        excluding: Set<PeerAddress> = [], goOn: @escaping @Sendable () async -> Bool,
        shortOfPeers: @escaping @Sendable () async -> Bool, found: @escaping @Sendable ([PeerAddress]) async -> Void
    ) -> DHTScheduledSearch {
        let search = DHTScheduledSearch()
        let job = scheduler.add(at: .now) {
            await search.step(goOn: goOn, shortOfPeers: shortOfPeers) {
                await DHTTorrentSearch.lookUpOnce(
                    dht, infoHash: infoHash, announcePort: announcePort, excluding: excluding, found: found)
            }
        }
        let stopped = search.state.withLock { state in
            state.job = job
            return state.stopped
        }
        if stopped { job.cancel() }
        return search
    }

    /// One run of the job: a lookup, and when the next is due.
    private func step(
        goOn: @Sendable () async -> Bool, shortOfPeers: @Sendable () async -> Bool,
        lookUp: @escaping @Sendable () async -> Void
    ) async -> Scheduler.Next {
        let first = state.withLock { state -> Bool? in
            guard !state.stopped else { return nil }
            defer { state.asked = true }
            return !state.asked
        }
        guard let first else { return .done }
        if first, !(await goOn()) { return .done }
        let lookup = Task { await lookUp() }
        let running = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.lookup = lookup
            state.lookups += 1
            return true
        }
        guard running else {
            lookup.cancel()
            await lookup.value
            return .done
        }
        await lookup.value
        let short = await shortOfPeers()
        return state.withLock { state -> Scheduler.Next in
            state.lookup = nil
            guard !state.stopped else { return .done }
            return .at(.now + state.pacing.pause(shortOfPeers: short))
        }
    }

    /// Ends the search: a lookup on its way is cancelled, and this returns once no run of it is on its way.
    package func stop() async {
        let (job, lookup) = state.withLock { state in
            state.stopped = true
            return (state.job, state.lookup)
        }
        lookup?.cancel()
        await job?.end()
    }
}
