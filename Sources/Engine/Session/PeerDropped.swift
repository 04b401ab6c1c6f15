/// Why a peer connection ends early.
struct PeerDropped: Error, CustomStringConvertible {
    let reason: String
    /// The peer broke the rules (its address is refused for a while).
    var misbehaved = false
    var description: String { reason }
}
