extension PeerConnectionStateMachine {
    /// Refuses a queued request of the peer that cannot be served (a piece we do not have, a range past
    /// the end of a short piece): forgets it and returns the `reject request` to send under the Fast
    /// extension; `nil` without it (BEP 3 has no refusal) or when the request is not queued.
    public mutating func refuse(_ request: BlockRequest) -> PeerMessage? {
        guard peerRequests.remove(request) else { return nil }
        return configuration.fastExtension ? .rejectRequest(request) : nil
    }
}
