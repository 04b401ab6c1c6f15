import Engine
import Synchronization

/// The files, trackers and peers of torrents the daemon is not working, kept between requests: they
/// change only when the torrent's verified pieces, file priorities or file list do (a stopped torrent
/// announces nothing and has no peers), so a client polling every torrent's files reads them from the
/// store once. A worked torrent's details are read at every request.
final class RPCDetailsCache: Sendable {
    private struct Entry {
        var revision: [Int64]
        var details: RPCTorrentDetails
    }

    private let entries = Mutex<[Int64: Entry]>([:])
    /// Each torrent's revision as the last listing found it; `nil` for one being worked.
    private let revisions = Mutex<[Int64: [Int64]]>([:])

    /// Notes the torrents of a listing (called by every `torrents()`); forgets the others.
    func noteListing(_ revisions: [Int64: [Int64]?]) {
        self.revisions.withLock { current in
            current = revisions.compactMapValues { $0 }
        }
        entries.withLock { cached in
            cached = cached.filter { (revisions[$0.key] ?? nil) != nil }
        }
    }

    /// The cached details of `id` when its revision has not changed since they were read.
    func details(of id: Int64) -> RPCTorrentDetails? {
        guard let revision = revisions.withLock({ $0[id] }) else { return nil }
        return entries.withLock { cached in
            guard let entry = cached[id], entry.revision == revision else { return nil }
            return entry.details
        }
    }

    /// Keeps `details` of `id` at its current revision (nothing for a torrent being worked).
    func keep(_ details: RPCTorrentDetails, of id: Int64) {
        guard let revision = revisions.withLock({ $0[id] }) else { return }
        entries.withLock { $0[id] = Entry(revision: revision, details: details) }
    }

    /// Whether `id` is being worked (or unknown), so its details must be read live.
    func isLive(_ id: Int64) -> Bool {
        revisions.withLock { $0[id] == nil }
    }
}
