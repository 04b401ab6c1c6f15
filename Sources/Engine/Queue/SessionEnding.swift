/// How the end of a torrent's session is recorded, the same for `btq run` (the queue manager) and
/// `btq get`: what the user asked meanwhile (a pause, a removal, a recheck) stays; a complete download
/// takes `completedState`, a failure the `error` state with its reason, and a download stopped before it
/// was complete takes `stoppedState`.
package enum SessionEnding {
    /// Records `outcome` for `record` in `store`; returns the line that says what happened.
    @discardableResult
    package static func record(
        _ outcome: TorrentSession.Outcome, of record: TorrentRecord, in store: any QueueStore,
        completedState: TorrentState = .completed, stoppedState: TorrentState
    ) throws -> String {
        let id = record.id
        let name = record.name
        // A row removed and added again since the session started belongs to the new torrent: nothing of
        // the old session's ending is recorded there.
        let current = try store.torrent(id: id).flatMap { $0.addedAt == record.addedAt ? $0 : nil }
        let userSaid = current.map { $0.isRemoved || $0.state == .paused || $0.state == .checking } ?? true
        switch outcome {
        case .completed:
            // Complete, and stopped by the queue (a seed limit, no seed slot), by Ctrl-C, or by the user (a
            // pause, a removal, or `btq verify`: its check starts now and decides the state).
            guard !userSaid else { return "stopped #\(id) \(name)" }
            try store.setState(torrentId: id, completedState)
            return completedState == .completed
                ? "completed #\(id) \(name)" : "\(completedState.rawValue) #\(id) \(name)"
        case .failed(let reason):
            guard current != nil else { return "error #\(id) \(name): \(reason)" }
            try store.setState(torrentId: id, .error, error: reason)
            return "error #\(id) \(name): \(reason)"
        case .stopped:
            // Stopped because the user paused or removed it (its state is already what they asked), or
            // because the process stops.
            if let current, !userSaid, current.state == .downloading {
                try store.setState(torrentId: id, stoppedState)
            }
            return "stopped #\(id) \(name)"
        }
    }
}
