import NIOCore

/// What a torrent session knows about one connected peer.
struct PeerSlot {
    let key: PeerKey
    let address: PeerAddress
    let source: PeerUpdate.Source
    let channel: any Channel
    let outbox: PeerOutbox
    let connectedAt: ContinuousClock.Instant
    var machine: PeerConnectionStateMachine
    var pipeline = RequestPipeline(minimum: 16, maximum: 500)
    var peerId: [UInt8]?
    var handshaken = false
    var isSeed = false
    /// Its pieces no longer count in the picker's availability (a seed dropped while we seed too).
    var availabilityWithdrawn = false
    var lastMessageAt: ContinuousClock.Instant
    var lastBlockAt: ContinuousClock.Instant?
    var lastKeepAliveSent: ContinuousClock.Instant
    /// What its byte stream is: plaintext, or MSE/PE with an RC4 or plaintext payload.
    var security: PeerTransportSecurity = .plain
    /// What carries its byte stream.
    var transport: PeerTransports.Kind { channel is UTPChannel ? .utp : .tcp }
    var downloadedUnsaved: Int64 = 0
    var hashFailuresUnsaved = 0
    /// Uploading to this peer (see ``SessionUploads``).
    var upload = PeerUploadState()
    /// Its extension protocol state (see ``ExtensionProtocol``).
    var extensions = PeerExtensionState()
    /// The bounds on answering its BEP 52 hash requests (see ``PeerHashRequests``).
    var hashRequests = PeerHashRequests()
    /// Payload from it and to it over the last seconds, for its rates in a peer list.
    var rates = (
        download: TransferStatistics.RateWindow(), upload: TransferStatistics.RateWindow()
    )

    /// Queues frames for the peer's writer task.
    func send(_ frames: [PeerWireFrame]) {
        outbox.send(frames)
    }

    /// Queues messages for the peer's writer task.
    func send(_ messages: [PeerMessage]) {
        outbox.send(messages)
    }

    /// Queues one message for the peer's writer task.
    func send(_ message: PeerMessage) {
        outbox.send(message)
    }
}

extension PeerSlot {
    /// Its record for the peer history of torrent `torrentId`: who it is, its counters not recorded yet,
    /// and `banned` when that changed.
    func record(torrentId: Int64, banned: Bool? = nil) -> PeerUpdate {
        PeerUpdate(
            torrentId: torrentId, address: address.hostString, port: Int(address.port), peerId: peerId,
            client: extensions.clientName ?? peerId.flatMap(PeerID.clientName), source: source,
            downloadedDelta: downloadedUnsaved, uploadedDelta: upload.uploadedUnsaved,
            hashFailuresDelta: hashFailuresUnsaved, banned: banned,
            transport: security.label(transport: transport.rawValue))
    }

    /// True when it has counters its last ``record(torrentId:banned:)`` did not carry.
    var hasUnsavedCounters: Bool {
        downloadedUnsaved > 0 || hashFailuresUnsaved > 0 || upload.uploadedUnsaved > 0
    }

    /// Its counters are in the journal: they count from zero again, so they are never recorded twice.
    mutating func countersRecorded() {
        downloadedUnsaved = 0
        hashFailuresUnsaved = 0
        upload.uploadedUnsaved = 0
    }
}

/// What a session knows about an address it may dial.
struct PeerCandidate {
    let address: PeerAddress
    var source: PeerUpdate.Source
    var failures = 0
    var nextAttempt: ContinuousClock.Instant
    var isConnected = false
    var isConnecting = false
    var banned = false
    var hashFailures = 0
    /// Its share of the failed pieces it sent blocks of: 1 for a piece it sent alone, 1/k for a piece
    /// k peers sent (which of them lied cannot be told).
    var blame = 0.0
    var piecesPassed = 0
    /// It had every piece when we last met: two seeds have nothing to say to each other.
    var isSeed = false
}

/// What the reader task of a peer does after the session handled one message.
enum ReaderStep: Sendable {
    /// Read on.
    case proceed
    /// Write this block to storage, then report back with `blockWritten`.
    case write(BlockRequest, [UInt8])
    /// Close the connection.
    case disconnect(String)
    /// Close the connection of a peer that broke the rules (a protocol violation, a flood): its
    /// address is refused for a while (``IncomingAdmission/penalize(_:now:)``).
    case misbehaved(String)
}
