import NIOCore

/// The BEP 52 hash messages of a v2 or hybrid torrent: `hash request`s answered from the piece layers
/// the torrent holds (see ``V2HashServer``) or from the data of verified pieces (the block layer,
/// read off the actor: ``SessionEffects/blockLayerReads``), within each peer's bounds
/// (``PeerHashRequests``); `hashes` and `hash reject` answering what we asked to check a failed piece
/// block by block go to ``SessionCore/blockHashesAnswered(_:from:effects:)``.
extension SessionCore {
    /// Handles a hash message (id 21-23) from the peer at `key`. A v1 torrent ignores them, as any
    /// unknown message; a malformed one drops the peer. `hashes` and `hash reject` we did not ask for
    /// are ignored.
    mutating func hashMessage(
        id: UInt8, payload: ByteBuffer, from key: PeerKey, effects: inout SessionEffects
    ) -> ReaderStep {
        guard hashServer != nil else { return .proceed }
        let message: HashMessage
        do {
            message = try HashMessage(id: id, payload: payload)
        } catch {
            return .misbehaved("\(error)")
        }
        guard case .request(let request) = message else {
            return blockHashesAnswered(message, from: key, effects: &effects)
        }
        return answer(request, from: key, effects: &effects)
    }

    /// Answers one `hash request`, or refuses it over the peer's bounds. A request for the block layer
    /// of pieces we have goes to be read (its cost in the bucket grows with the data read); one over
    /// pieces we lack is refused.
    private mutating func answer(
        _ request: HashRequest, from key: PeerKey, effects: inout SessionEffects
    ) -> ReaderStep {
        guard var slot = swarm.peers.take(key) else { return .disconnect("gone") }
        defer { swarm.peers.putBack(slot) }
        var plan: V2BlockLayerAnswer?
        var refusal: String?
        do {
            plan = try hashServer?.blockLayer(request)
        } catch {
            refusal = error.description
        }
        let admission = slot.hashRequests.admit(
            now: .now, queuedBytes: slot.outbox.queuedBytes, queueLimit: slot.outbox.budget.peerQueueLimit,
            cost: PeerHashRequests.cost(readingBytes: plan?.dataBytes ?? 0))
        switch admission {
        case .answer:
            if let plan {
                if let missing = plan.pieces.first(where: { !swarm.picker.has(PieceIndex($0)) }) {
                    refusal = "we do not have piece \(missing)"
                } else if slot.hashRequests.dataAnswersInFlight >= PeerHashRequests.maxDataAnswers {
                    refusal = "\(PeerHashRequests.maxDataAnswers) block-layer answers are being read already"
                } else {
                    slot.hashRequests.dataAnswersInFlight += 1
                    effects.blockLayerReads.append((key, plan))
                    return .proceed
                }
            }
            if let refusal {
                logger.debug("hash request from \(slot.address) refused: \(refusal)")
                slot.send(HashMessage.reject(request).peerMessage)
            } else if let answer = hashServer?.answer(request) {
                if let refusal = answer.refusal {
                    logger.debug("hash request from \(slot.address) refused: \(refusal)")
                }
                slot.send(answer.reply.peerMessage)
            }
        case .refuse:
            slot.send(HashMessage.reject(request).peerMessage)
        case .flood:
            return .misbehaved("hash requests past \(PeerHashRequests.maxRefusals) refusals")
        }
        return .proceed
    }

    /// The leaves of a block-layer answer were read (or the read failed): the peer at `key` gets its
    /// `hashes`, or `hash reject` when the data could not be read or no longer matches its hashes.
    mutating func blockLayerRead(_ plan: V2BlockLayerAnswer, leaves: Result<[UInt8], any Error>, for key: PeerKey) {
        guard var slot = swarm.peers.take(key) else { return }
        defer { swarm.peers.putBack(slot) }
        slot.hashRequests.dataAnswersInFlight -= 1
        do {
            let hashes = try plan.answer(leaves: try leaves.get())
            slot.send(HashMessage.hashes(plan.request, hashes: hashes).peerMessage)
        } catch {
            logger.info("block-layer hash request from \(slot.address) refused: \(error)")
            slot.send(HashMessage.reject(plan.request).peerMessage)
        }
    }
}
