/// What a piece's hash check does to the swarm: a passed piece is announced and its senders credited,
/// smart ban judges who lied about a piece that failed before; a failed piece is wasted bytes, its
/// blocks go back to the picker, and its senders are blamed (see ``PeerCandidateTable/blame(_:source:senders:threshold:)``).
extension PieceVerification {
    /// What the session carries out after a check (``checked(_:matches:digests:swarm:banAfter:)``).
    struct Verdict {
        /// Every wanted piece is verified now.
        var completed = false
        /// Peers to ban (connected ones; absent ones are banned in the candidates already), with why.
        var bans: [(key: PeerKey, reason: String)] = []
        /// How many peers sent the piece, when it failed.
        var senders = 0
        /// The picker keys that sent the failed piece's blocks (peers and web seed connections).
        var senderKeys: [PeerKey] = []
    }

    /// A piece's hash is known: it is verified and announced, or thrown away and its senders blamed.
    /// `digests` are its blocks' digests (of a failed piece, or of a piece smart ban watches).
    mutating func checked(
        _ piece: PieceIndex, matches: Bool, digests: [[UInt8]]?, swarm: inout SessionSwarm, banAfter threshold: Int
    ) -> Verdict {
        hashingEnded(piece)
        assemblies.pieceChecked(piece)
        var verdict = Verdict()
        if matches {
            if let digests, let found = smartBan.piecePassed(piece, digests: digests) {
                judge(found, swarm: &swarm, into: &verdict)
            }
            swarm.piecePassed(piece)
            if swarm.picker.isComplete {
                assemblies.dropSpares()
                verdict.completed = true
            }
            return verdict
        }
        swarm.statistics.wasted(Int64(swarm.layout.length(of: piece)))
        if let digests {
            let senders = swarm.senders(of: piece)
            let share = 1 / Double(max(Set(senders.values).count, 1))
            smartBan.pieceFailed(piece, senders: senders, digests: digests, share: share)
        }
        let senders = swarm.picker.pieceFailed(piece)
        verdict.senders = senders.count
        verdict.senderKeys = senders
        for key in senders {
            guard let (address, source) = swarm.peers[key].map({ ($0.address, $0.source) }) else { continue }
            swarm.peers[key]?.hashFailuresUnsaved += 1
            let blame = swarm.candidates.blame(address, source: source, senders: senders.count, threshold: threshold)
            if blame.deservesBan { verdict.bans.append((key, "after \(blame.hashFailures) hash failure(s)")) }
        }
        return verdict
    }

    /// Acts on what smart ban found once a piece that failed passed: a peer whose block differed lied
    /// (banned, or never dialled again when it is gone); a peer whose blocks matched gets back the blame
    /// it took for the failure.
    private func judge(_ found: SmartBan.Verdict, swarm: inout SessionSwarm, into verdict: inout Verdict) {
        for address in found.liars {
            if let key = swarm.peers.key(of: address) {
                verdict.bans.append((key, "for sending a block that differs from the verified piece"))
            } else {
                swarm.candidates[address]?.banned = true
            }
        }
        swarm.candidates.clear(found.cleared, share: found.share)
    }
}
