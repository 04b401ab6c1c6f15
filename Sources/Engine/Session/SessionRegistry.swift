import Synchronization

/// The running sessions of a process by the info-hash peers name in their handshake, so one listening
/// port serves every torrent.
package final class SessionRegistry: Sendable {
    private let sessions = Mutex<[[UInt8]: TorrentSession]>([:])

    /// An empty registry.
    package init() {}

    /// Makes `session` reachable for incoming peers (replacing another session of the same torrent).
    package func add(_ session: TorrentSession) {
        sessions.withLock { $0[session.handshakeInfoHash] = session }
    }

    /// Makes `session` unreachable (if it is the one registered for its torrent).
    package func remove(_ session: TorrentSession) {
        sessions.withLock { sessions in
            if sessions[session.handshakeInfoHash] === session {
                sessions.removeValue(forKey: session.handshakeInfoHash)
            }
        }
    }

    /// The session for a handshake's info-hash.
    package func session(for infoHash: [UInt8]) -> TorrentSession? {
        sessions.withLock { $0[infoHash] }
    }

    /// How many sessions are registered.
    /// The info-hashes of the running sessions (an MSE responder tries each).
    package var infoHashes: [[UInt8]] { sessions.withLock { Array($0.keys) } }

    package var count: Int { sessions.withLock { $0.count } }
}
