/// What a session keeps about uploading to one peer.
struct PeerUploadState {
    /// Payload bytes sent to it and not yet saved in the peer history.
    var uploadedUnsaved: Int64 = 0
    /// Payload bytes each way since the last choker round (its rates).
    var uploadedInRound: Int64 = 0
    var downloadedInRound: Int64 = 0
    /// When its current (or last) unchoke began.
    var unchokedSince: ContinuousClock.Instant?
    /// True while a task reads and sends its requested blocks.
    var serving = false
    /// `piece` bytes handed to its writer and not yet written to the socket.
    var queuedBytes = 0
}
