/// Who is to blame for pieces that fail their hash (DESIGN.md, "Bad and hostile input"): each sender of
/// a failed piece takes a share of the failure, kept with its address so that it outlives the
/// connection; a peer that sent a bad piece alone, or whose share grows past what it helped pass, is
/// banned.
extension PeerCandidateTable {
    /// What blaming a sender of a failed piece found.
    struct Blame: Equatable {
        /// Pieces it sent blocks of that failed, this one included.
        var hashFailures: Int
        /// It deserves a ban (see ``deservesBan(senders:blame:piecesPassed:threshold:)``).
        var deservesBan: Bool
    }

    /// One of `senders` peers sent blocks of a piece that failed its hash: `address` (known from
    /// `source` when it is not in the table yet) counts a hash failure and takes a share of 1/`senders`.
    mutating func blame(
        _ address: PeerAddress, source: PeerUpdate.Source, senders: Int, threshold: Int
    ) -> Blame {
        var candidate = self[address] ?? PeerCandidate(address: address, source: source, nextAttempt: .now)
        candidate.hashFailures += 1
        candidate.blame += 1 / Double(max(senders, 1))
        let banned = Self.deservesBan(
            senders: senders, blame: candidate.blame, piecesPassed: candidate.piecesPassed, threshold: threshold)
        self[address] = candidate
        return Blame(hashFailures: candidate.hashFailures, deservesBan: banned)
    }

    /// `address` sent blocks of a piece that passed its hash.
    mutating func piecePassed(from address: PeerAddress) {
        self[address]?.piecesPassed += 1
    }

    /// Smart ban found the senders of a failed piece honest once it passed: each gets back the share of
    /// the failure it took.
    mutating func clear(_ addresses: Set<PeerAddress>, share: Double) {
        for address in addresses {
            // Read, then write: `self[address]?.blame = ... self[address] ...` would read the table while
            // the optional chain holds it for writing (a runtime exclusivity trap).
            guard var candidate = self[address] else { continue }
            candidate.blame = max(0, candidate.blame - share)
            self[address] = candidate
        }
    }

    /// Whether a peer that just shared in a bad piece with `senders - 1` others is banned: at once when it
    /// sent the whole piece alone; else when its share of the bad pieces (`blame`, 1/k for each piece k
    /// peers sent) reaches `threshold` and is more than half the pieces it helped pass. An honest peer
    /// whose blocks keep landing in pieces a liar spoiled takes half the blame of each (two senders), so
    /// it is not banned after `threshold` such pieces as the liar is.
    static func deservesBan(senders: Int, blame: Double, piecesPassed: Int, threshold: Int) -> Bool {
        senders <= 1 || (blame >= Double(threshold) && blame * 2 > Double(piecesPassed))
    }
}
