import Synchronization

/// A process-wide bound on the file descriptors that the storages of all torrents keep open while
/// idle (the setting `max_open_files`), like libtorrent's file pool: a daemon seeding thousands of
/// torrents does not hold a descriptor per file of each. Past the limit, the descriptor used least
/// recently across every storage is closed (never one in use: a file busy in a read or write stays
/// open, so the count may pass the limit while that many are busy at once). A closed file is opened
/// again at its next use.
package final class OpenFileBudget: Sendable {
    /// The default limit: well under the usual 1,024 descriptors a process may open, beside sockets.
    package static let defaultLimit = 512

    /// Most idle descriptors open at once, over every storage.
    package let limit: Int
    private let state = Mutex((open: 0, caches: [ObjectIdentifier: Member]()))

    /// A registered cache, held weakly: a storage that is gone is not kept alive by the budget.
    private struct Member: Sendable {
        weak var cache: FileDescriptorCache?
    }

    package init(limit: Int = OpenFileBudget.defaultLimit) {
        precondition(limit > 0, "an open-file limit must be positive")
        self.limit = limit
    }

    /// Descriptors open now, over every registered storage.
    package var openCount: Int { state.withLock { $0.open } }

    func register(_ cache: FileDescriptorCache) {
        state.withLock { $0.caches[ObjectIdentifier(cache)] = Member(cache: cache) }
    }

    func deregister(_ cache: FileDescriptorCache) {
        state.withLock { _ = $0.caches.removeValue(forKey: ObjectIdentifier(cache)) }
    }

    /// A cache opened (`delta` > 0) or closed descriptors, or a descriptor became idle (0); called with
    /// no cache's lock held. Over the limit, idle descriptors are closed.
    func adjust(by delta: Int) {
        let over = state.withLock { state in
            state.open += delta
            return state.open > limit
        }
        if over { enforce() }
    }

    /// How far under the limit the budget closes once over it: an eighth of it, so that one scan of
    /// every storage serves many opens (at the start of thousands of torrents, a scan per open cost
    /// time that grew with the square of their number).
    private var lowMark: Int { limit - limit / 8 }

    /// Closes the least recently used idle descriptors, over every storage, until the count is down to
    /// ``lowMark`` or every open descriptor is busy. A round asks every storage once for its oldest
    /// idle descriptor and closes the oldest of those (no lock of the budget is held while a storage
    /// is asked, so no two locks are ever taken in turn); a storage holding several of the oldest
    /// gives one a round.
    private func enforce() {
        while true {
            let (excess, caches) = state.withLock { state -> (Int, [FileDescriptorCache]) in
                guard state.open > limit else { return (0, []) }
                state.caches = state.caches.filter { $0.value.cache != nil }
                return (state.open - lowMark, state.caches.values.compactMap(\.cache))
            }
            guard excess > 0 else { return }
            var oldest: [(cache: FileDescriptorCache, use: UInt64)] = []
            for cache in caches {
                if let use = cache.oldestIdleUse() { oldest.append((cache, use)) }
            }
            // Every descriptor is busy: nothing can be closed until one is idle again.
            guard !oldest.isEmpty else { return }
            oldest.sort { $0.use < $1.use }
            for entry in oldest.prefix(excess) { entry.cache.closeIdle(lastUse: entry.use) }
        }
    }
}
