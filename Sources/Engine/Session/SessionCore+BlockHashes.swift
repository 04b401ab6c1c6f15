/// A v2 piece that failed its merkle check, settled block by block (``V2BlockCheck``): its block
/// hashes are asked of a peer that has it, the senders of the bad blocks are banned and nobody else is
/// blamed, the good blocks stay in the files and only the bad ones are fetched again, each checked as
/// it arrives. When no peer can answer in time, smart ban takes over, as for v1.
extension SessionCore {
    /// `piece` (assembled in memory, then written to the files) failed its v2 check: asks for its block
    /// hashes when that can tell its senders apart; a piece whose data is one block (a small file, a
    /// file's short tail) needs no hashes: that block is the bad one. False when it cannot (one
    /// sender, no room, nobody to ask): the caller blames the senders as for v1.
    mutating func checkBlocks(
        ofFailed piece: PieceIndex, _ failure: PieceHashing.MerkleFailure, effects: inout SessionEffects
    ) -> Bool {
        let senders = swarm.senders(of: piece)
        guard Set(senders.values).count > 1 else { return false }
        if (failure.dataLength + MerkleTree.blockSize - 1) / MerkleTree.blockSize == 1, let sender = senders[0] {
            // The piece's data is its first block (the rest is pad, which v2 does not hash): that
            // block is the bad one, and nobody need be asked.
            logger.info("piece \(piece) failed its merkle check; its data is one block, sent by \(sender)")
            verification.assemblies.goDirect(piece)
            _ = settle(piece, V2BlockCheck.Verdict(badBlocks: [0], liars: [sender]), effects: &effects)
            return true
        }
        guard let request = hashServer?.blockHashRequest(for: piece), !askable(about: piece, asked: []).isEmpty
        else { return false }
        let record = V2BlockCheck.Failed(
            request: request, expected: failure.expected, received: failure.leaves, dataLength: failure.dataLength,
            senders: senders, digests: failure.digests)
        guard blockChecks.watch(piece, record) else { return false }
        let count = Set(senders.values).count
        logger.info("piece \(piece) failed its merkle check (sent by \(count) peers): asking for its block hashes")
        // The good blocks are in the files: what is fetched again goes there too.
        verification.assemblies.goDirect(piece)
        askForBlockHashes(piece, effects: &effects)
        return true
    }

    /// Connected peers that have `piece` and were not asked about it yet; those that did not send any
    /// of its blocks first.
    private func askable(about piece: PieceIndex, asked: Set<PeerAddress>) -> [PeerKey] {
        let contributors = Set(swarm.senders(of: piece).values)
        return swarm.peers.values
            .filter { slot in
                slot.handshaken && !asked.contains(slot.address) && swarm.candidates[slot.address]?.banned != true
                    && (slot.isSeed || slot.machine.peerPieces.contains(piece))
            }
            .map { (sent: contributors.contains($0.address) ? 1 : 0, key: $0.key) }
            .sorted { ($0.sent, $0.key) < ($1.sent, $1.key) }
            .map(\.key)
    }

    /// Asks the next peer about `piece`, or falls back to smart ban when none is left.
    private mutating func askForBlockHashes(_ piece: PieceIndex, effects: inout SessionEffects) {
        guard let record = blockChecks.failed[piece] else { return }
        guard record.asked.count < V2BlockCheck.maxAsks,
            let key = askable(about: piece, asked: record.asked).first, let slot = swarm.peers[key]
        else {
            fallBack(piece, effects: &effects)
            return
        }
        slot.send(HashMessage.request(record.request).peerMessage)
        blockChecks.asked(piece, key: key, address: slot.address, now: .now)
    }

    /// Gives up on settling `piece` block by block: its senders are blamed and smart ban watches it.
    private mutating func fallBack(_ piece: PieceIndex, effects: inout SessionEffects) {
        guard let record = blockChecks.giveUp(piece) else { return }
        logger.info("piece \(piece): no peer gave its block hashes, smart ban judges its senders")
        pieceChecked(piece, matches: false, digests: record.digests, effects: &effects)
    }

    /// A `hashes` or `hash reject` from the peer at `key`: an answer about a failed piece settles it,
    /// bans its sender when it lies, or sends the question to another peer. Returns what the peer's
    /// reader does next (a banned peer is disconnected).
    mutating func blockHashesAnswered(
        _ message: HashMessage, from key: PeerKey, effects: inout SessionEffects
    ) -> ReaderStep {
        switch message {
        case .request:
            return .proceed
        case .reject(let request):
            guard let piece = blockChecks.rejected(request, from: key) else { return .proceed }
            askForBlockHashes(piece, effects: &effects)
        case .hashes(let request, let hashes):
            switch blockChecks.answered(request, hashes: hashes, from: key) {
            case .ignored:
                return .proceed
            case .lie(let piece):
                let reason = "for block hashes of piece \(piece) that do not fold to its hash"
                ban(key, because: reason, effects: &effects)
                askForBlockHashes(piece, effects: &effects)
                return .disconnect("banned \(reason)")
            case .verdict(let piece, let verdict):
                if settle(piece, verdict, effects: &effects).contains(key) {
                    return .disconnect("banned for sending a block that fails its merkle hash")
                }
            }
        }
        return .proceed
    }

    /// The verified leaves of `piece` named its bad blocks: their senders are banned, the blocks
    /// fetched again, the rest kept. Returns the connected peers banned.
    private mutating func settle(
        _ piece: PieceIndex, _ verdict: V2BlockCheck.Verdict, effects: inout SessionEffects
    ) -> [PeerKey] {
        guard !verdict.badBlocks.isEmpty else {
            // Nothing differs (cannot happen for a piece that failed): fetch it all again, blame nobody.
            verification.hashingEnded(piece)
            verification.assemblies.pieceChecked(piece)
            blockChecks.pieceChecked(piece)
            swarm.picker.pieceFailed(piece)
            return []
        }
        let liars = verdict.liars.map(\.description).sorted().joined(separator: ", ")
        logger.info("piece \(piece): block(s) \(verdict.badBlocks) failed their merkle hashes, sent by \(liars)")
        var bytes = 0
        for block in verdict.badBlocks {
            bytes += Int(layout.request(piece: piece, block: BlockIndex(block)).length)
        }
        swarm.statistics.wasted(Int64(bytes))
        swarm.picker.blocksFailed(verdict.badBlocks.map { BlockIndex($0) }, in: piece)
        var banned: [PeerKey] = []
        for address in verdict.liars {
            if let key = swarm.peers.key(of: address) {
                swarm.peers[key]?.hashFailuresUnsaved += 1
                ban(key, because: "for sending a block of piece \(piece) that fails its merkle hash", effects: &effects)
                banned.append(key)
            } else {
                swarm.candidates[address]?.banned = true
            }
        }
        swarm.fillAllRequests(limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress)
        return banned
    }

    /// A block of a piece whose leaves are known came again with bytes that do not match: its sender
    /// is banned (its reader told to disconnect) and the block fetched from someone else.
    mutating func badBlockAgain(
        _ request: BlockRequest, length: Int, from key: PeerKey, effects: inout SessionEffects
    ) -> ReaderStep {
        swarm.picker.blockWriteFailed(request)
        swarm.statistics.wasted(Int64(length))
        swarm.peers[key]?.hashFailuresUnsaved += 1
        let reason = "for sending a block of piece \(request.piece) that fails its merkle hash"
        ban(key, because: reason, effects: &effects)
        swarm.fillAllRequests(limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress)
        return .disconnect("banned \(reason)")
    }

    /// Requests for block hashes that expired (smart ban takes over) or whose peer left (the next
    /// peer is asked).
    mutating func blockChecksUpkeep(now: ContinuousClock.Instant, effects: inout SessionEffects) {
        let unanswered = blockChecks.unanswered(now: now) { swarm.peers[$0] == nil }
        for piece in unanswered.expired { fallBack(piece, effects: &effects) }
        for piece in unanswered.gone { askForBlockHashes(piece, effects: &effects) }
    }
}
