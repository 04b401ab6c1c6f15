import NIOCore

/// The BEP 52 hash messages of a v2 or hybrid torrent: `hash request`s answered from the piece layers
/// the torrent holds (see ``V2HashServer``), within each peer's bounds (``PeerHashRequests``).
extension SessionCore {
    /// Handles a hash message (id 21-23) from the peer at `key`. A v1 torrent ignores them, as any
    /// unknown message; a malformed one drops the peer. `hashes` and `hash reject` are not asked for,
    /// so they are ignored.
    mutating func hashMessage(id: UInt8, payload: ByteBuffer, from key: PeerKey) -> ReaderStep {
        guard hashServer != nil else { return .proceed }
        let message: HashMessage
        do {
            message = try HashMessage(id: id, payload: payload)
        } catch {
            return .misbehaved("\(error)")
        }
        guard case .request(let request) = message else { return .proceed }
        return answer(request, from: key)
    }

    /// Answers one `hash request`, or refuses it over the peer's bounds.
    private mutating func answer(_ request: HashRequest, from key: PeerKey) -> ReaderStep {
        guard var slot = swarm.peers.take(key) else { return .disconnect("gone") }
        let admission = slot.hashRequests.admit(
            now: .now, queuedBytes: slot.outbox.queuedBytes, queueLimit: slot.outbox.budget.peerQueueLimit)
        switch admission {
        case .answer:
            guard let answer = hashServer?.answer(request) else { break }
            if let refusal = answer.refusal { logger.debug("hash request from \(slot.address) refused: \(refusal)") }
            slot.send(answer.reply.peerMessage)
        case .refuse:
            slot.send(HashMessage.reject(request).peerMessage)
        case .flood:
            swarm.peers.putBack(slot)
            return .misbehaved("hash requests past \(PeerHashRequests.maxRefusals) refusals")
        }
        swarm.peers.putBack(slot)
        return .proceed
    }
}
