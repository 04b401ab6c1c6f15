/// Which `metadata_size` a metadata fetch (BEP 9) assembles, when peers disagree: the size most
/// connected peers announce, so that one peer announcing a wrong size (and rejecting every request)
/// cannot hold up a fetch that honest peers could serve.
///
/// An assembly that received a piece keeps its size while anyone announces it (the hash check decides
/// then); one that received nothing gives way to a size more peers announce, or to any size someone
/// can be asked for now when nobody can be asked for its own. A new size is only chosen when a peer
/// announcing it can be asked now.
enum MetadataSizeElection {
    /// A connected peer that announced a metadata size.
    struct Voter: Sendable, Hashable {
        let key: PeerKey
        let size: Int
        /// It may be sent requests now (not resting after a reject or a timeout).
        let canAsk: Bool
    }

    /// The assembly under way.
    struct Current: Sendable, Hashable {
        let size: Int
        /// It received at least one piece.
        let started: Bool
    }

    /// The size to assemble: `current`'s, another one, or `nil` (nobody to ask).
    static func choose(among voters: [Voter], current: Current?) -> Int? {
        var votes: [Int: Int] = [:]
        var askable: [Int: PeerKey] = [:]
        for voter in voters {
            votes[voter.size, default: 0] += 1
            if voter.canAsk { askable[voter.size] = min(askable[voter.size] ?? voter.key, voter.key) }
        }
        // The best size that someone can be asked for now: most votes, then the earliest peer.
        let best = askable.max { lhs, rhs in
            let (left, right) = (votes[lhs.key] ?? 0, votes[rhs.key] ?? 0)
            return left != right ? left < right : lhs.value > rhs.value
        }?.key
        guard let current, let held = votes[current.size] else { return best }
        guard !current.started, let best, best != current.size else { return current.size }
        if (votes[best] ?? 0) > held || askable[current.size] == nil { return best }
        return current.size
    }
}
