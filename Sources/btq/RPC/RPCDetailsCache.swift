import Engine
import Synchronization

/// The files, trackers and peers of torrents the daemon is not working, kept between requests: they
/// change only when the torrent's verified pieces, file priorities or file list do (a stopped torrent
/// announces nothing and has no peers), so a client polling every torrent's files reads them from the
/// store once. A worked torrent's details are read at every request. Asked for all of a request's
/// torrents at once (one lock each way, whatever their number).
final class RPCDetailsCache: Sendable {
    /// What a torrent's details are read again after: its verified pieces, when its priorities last
    /// changed, its file count.
    struct Revision: Hashable {
        var piecesDone: Int
        var prioritiesChanged: Int64
        var fileCount: Int
    }

    private struct Entry {
        var revision: Revision
        var details: RPCTorrentDetails
    }

    private struct State {
        var entries: [Int64: Entry] = [:]
        /// Each torrent's revision as the last listing found it; absent for one being worked.
        var revisions: [Int64: Revision] = [:]
    }

    private let state = Mutex(State())

    /// Notes the torrents of a listing (called by every `torrents()`): the revision of each not worked
    /// (`nil` for one being worked); forgets the others.
    func noteListing(_ revisions: [Int64: Revision?]) {
        state.withLock { state in
            state.revisions = revisions.compactMapValues { $0 }
            if state.entries.keys.contains(where: { state.revisions[$0] == nil }) {
                state.entries = state.entries.filter { state.revisions[$0.key] != nil }
            }
        }
    }

    /// The cached details of those of `ids` whose revision has not changed since they were read, and
    /// the ids that have none.
    func details(of ids: [Int64]) -> (found: [Int64: RPCTorrentDetails], missing: [Int64]) {
        state.withLock { state in
            var found: [Int64: RPCTorrentDetails] = [:]
            found.reserveCapacity(ids.count)
            var missing: [Int64] = []
            for id in ids {
                if let revision = state.revisions[id], let entry = state.entries[id], entry.revision == revision {
                    found[id] = entry.details
                } else {
                    missing.append(id)
                }
            }
            return (found, missing)
        }
    }

    /// Keeps the details of each torrent at its current revision (nothing for a torrent being worked).
    func keep(_ details: [Int64: RPCTorrentDetails]) {
        state.withLock { state in
            for (id, details) in details {
                guard let revision = state.revisions[id] else { continue }
                state.entries[id] = Entry(revision: revision, details: details)
            }
        }
    }

    /// Those of `ids` being worked (or unknown), whose details must be read live.
    func live(_ ids: [Int64]) -> [Int64] {
        state.withLock { state in ids.filter { state.revisions[$0] == nil } }
    }
}
