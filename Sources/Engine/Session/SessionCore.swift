import Logging
import NIOCore

/// A torrent session's decisions, as a value: the swarm (peers, candidates, picker, counters), the
/// pieces on their way to verified, the uploads and the extension protocol, with what each message,
/// written block, checked piece and tick does to them.
///
/// It starts no task and touches no file: what needs either comes back to the session's actor as
/// ``SessionEffects`` (pieces to hash and store, peers to serve, records for the journal, the end of
/// the download), which ``TorrentSession`` carries out. So a torrent's behaviour towards its peers is
/// tested without sockets or disks.
struct SessionCore {
    /// The peers, the addresses to dial, the picker and the counters (see ``SessionSwarm``).
    var swarm: SessionSwarm
    /// Pieces on their way to verified: assemblies, hashes being checked, smart ban, waiters for stores.
    var verification: PieceVerification
    /// Choking, serving peers' requests, and who may connect (see ``SessionUploads``).
    var uploads: SessionUploads
    /// The torrent's web seeds (BEP 19): their connections' keys in the picker, phases and counters.
    var webSeeds = WebSeeds()
    /// The extension protocol's decisions (BEP 10, 9, 11) for this torrent.
    let extensionProtocol: ExtensionProtocol
    /// Answers BEP 52 hash requests from the piece layers; `nil` for a v1 torrent.
    var hashServer: V2HashServer?
    /// Failed v2 pieces checked block by block: block hashes asked for, verified leaves kept.
    var blockChecks = V2BlockCheck()
    let configuration: SessionConfiguration
    /// Rate limits, global and this torrent's.
    let limits: TransferLimits
    /// The info-hash peers name in their handshake for this torrent.
    let infoHash: [UInt8]
    let logger: Logger

    init(
        metainfo: Metainfo, layout: PieceLayout, filePriorities: [PiecePriority], order: DownloadOrder = .rarest,
        configuration: SessionConfiguration, limits: TransferLimits, logger: Logger
    ) {
        var picker = PiecePicker(layout: layout)
        picker.order = order
        let map = FileSpanMap(files: metainfo.files, layout: layout)
        picker.setFilePriorities(PiecePriority.perFile(of: metainfo.files, chosen: filePriorities), map: map)
        swarm = SessionSwarm(
            picker: picker, candidates: PeerCandidateTable(limits: .init(configuration)),
            statistics: TransferStatistics(start: .now))
        verification = PieceVerification(layout: layout)
        uploads = SessionUploads(configuration: configuration)
        extensionProtocol = ExtensionProtocol(metainfo: metainfo)
        hashServer = V2HashServer(metainfo: metainfo)
        self.configuration = configuration
        self.limits = limits
        infoHash = metainfo.infoHashes.wireHash
        self.logger = logger
    }

    var layout: PieceLayout { swarm.picker.layout }

    /// Changes the order new pieces are started in; what is in progress stays.
    mutating func setDownloadOrder(_ order: DownloadOrder) {
        guard swarm.picker.order != order else { return }
        swarm.picker.order = order
    }

    /// Changes the files' priorities (one per file, 0 skips) while the torrent runs: new requests follow
    /// them, what is requested stays requested, and our interest in each peer is updated.
    mutating func setFilePriorities(_ filePriorities: [PiecePriority], metainfo: Metainfo) {
        let map = FileSpanMap(files: metainfo.files, layout: layout)
        swarm.picker.setFilePriorities(PiecePriority.perFile(of: metainfo.files, chosen: filePriorities), map: map)
        for key in Array(swarm.peers.keys) { swarm.updateInterest(key) }
    }

    /// Takes `addresses` as candidates to dial, but our own listening address; true when any is new.
    mutating func addPeers(_ addresses: [PeerAddress], source: PeerUpdate.Source, now: ContinuousClock.Instant) -> Bool
    {
        let fresh = addresses.filter { !($0.isLoopback && $0.port == configuration.listenPort) }
        return swarm.candidates.add(fresh, source: source, notBefore: now) > 0
    }

    /// Handles the frames of one socket read, in order, and returns what the reader must do besides
    /// reading on: writes of blocks that bypass the in-memory assembly, or a disconnect (last). Blocks
    /// are assembled under journal interval `epoch`.
    mutating func received(
        _ frames: [PeerWireFrame], from key: PeerKey, epoch: Int, effects: inout SessionEffects
    ) -> [ReaderStep] {
        var steps: [ReaderStep] = []
        for frame in frames {
            guard case .message(let message) = frame else {
                steps.append(.misbehaved("a second handshake"))
                return steps
            }
            let step = received(message, from: key, epoch: epoch, effects: &effects)
            switch step {
            case .proceed:
                continue
            case .disconnect, .misbehaved:
                steps.append(step)
                return steps
            case .write:
                steps.append(step)
            }
        }
        return steps
    }

    /// Handles one message from a peer and says what its reader does next.
    private mutating func received(
        _ message: PeerMessage, from key: PeerKey, epoch: Int, effects: inout SessionEffects
    ) -> ReaderStep {
        var step = ReaderStep.proceed
        switch swarm.received(message, from: key, now: .now) {
        case .none:
            break
        case .block(let request, let block):
            if blockChecks.matches(request, bytes: block.readableBytesView) == false {
                return badBlockAgain(request, length: block.readableBytes, from: key, effects: &effects)
            }
            step = assemble(request, block, epoch: epoch, effects: &effects)
        case .extended(let id, let payload):
            let result = extensionProtocol.received(id: id, payload: payload, from: key, swarm: &swarm, now: .now)
            step = result.step
            if !result.learned.isEmpty {
                logger.debug("PEX from peer \(key): \(result.learned.count) new peer(s)")
                if addPeers(result.learned, source: .pex, now: .now) { effects.wake = true }
            }
        case .hashMessage(let id, let payload):
            step = hashMessage(id: id, payload: payload, from: key, effects: &effects)
        case .interestChanged:
            if uploads.unchokesAtOnce(key, in: swarm.peers) { setChoked(false, key, effects: &effects) }
        case .end(let last):
            return last
        }
        startServing(key, effects: &effects)
        swarm.fillRequests(key, limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress)
        return step
    }

    /// Adds an accepted block to its piece's assembly, or sends it straight to disk when memory for
    /// assemblies is used up; a complete piece goes to be hashed and stored.
    mutating func assemble(
        _ request: BlockRequest, _ block: ByteBuffer, epoch: Int, effects: inout SessionEffects
    ) -> ReaderStep {
        switch verification.assemblies.add(request, block: block, epoch: epoch) {
        case .writeDirect:
            return .write(request, Array(block.readableBytesView))
        case .kept, .ignored:
            return .proceed
        case .complete(let buffer):
            effects.store.append((request.piece, buffer, verification.smartBan.isWatching(request.piece)))
            return .proceed
        }
    }

    /// Periodic work: timeouts, snubs and keep-alives, a choker round when due, request pipelines, PEX.
    mutating func tick(now: ContinuousClock.Instant, effects: inout SessionEffects) {
        swarm.upkeep(now: now, configuration: configuration)
        blockChecksUpkeep(now: now, effects: &effects)
        for (key, choked) in uploads.rechokeIfDue(now: now, swarm: &swarm) ?? [] {
            setChoked(choked, key, effects: &effects)
        }
        swarm.fillAllRequests(limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress)
        extensionProtocol.sendPeerExchange(to: &swarm.peers, now: now)
    }

    /// When the run's loop next needs a tick (`interval` apart while there is work).
    enum TickNeed: Equatable, Sendable {
        /// There is work: at the next interval.
        case now
        /// Idle until an address may be dialled, this long from now.
        case after(Duration)
        /// Idle until something gives it work: a peer, new addresses, a stop.
        case onActivity
    }

    /// Whether the torrent is idle: no connection (open or being dialled), no web seed fetching, no
    /// failed v2 piece being asked about; then its ticks (choking, requests, timeouts, peer exchange) have
    /// nothing to do until an address becomes due or something pokes it. Linear in the addresses known
    /// only when nothing is connected. While its due addresses wait for the dial pace (`dialsWait`), an
    /// otherwise idle torrent rests until the pace wakes it.
    func tickNeed(now: ContinuousClock.Instant, interval: Duration, dialsWait: Bool = false) -> TickNeed {
        let complete = swarm.picker.isComplete
        guard swarm.peers.isEmpty, swarm.candidates.connectingCount == 0, blockChecks.failed.isEmpty,
            complete || webSeeds.seeds.allSatisfy(\.isDropped)
        else { return .now }
        if dialsWait { return .onActivity }
        guard let next = swarm.candidates.nextAttempt(where: { !(complete && $0.isSeed) }) else { return .onActivity }
        let wait = next - now
        return wait <= interval ? .now : .after(wait)
    }

    /// A snapshot for progress displays; `failure` and `startCheck` are the session's.
    mutating func status(failure: String?, startCheck: StartCheck, now: ContinuousClock.Instant) -> TorrentStatus {
        let progress = swarm.picker.progress
        let totals = swarm.statistics.totals
        var status = TorrentStatus(
            piecesDone: progress.piecesDone, piecesWanted: progress.piecesWanted, bytesDone: progress.bytesDone,
            bytesWanted: progress.bytesWanted,
            downloaded: totals.downloaded, uploaded: totals.uploaded, wasted: totals.wasted,
            downloadRate: swarm.statistics.downloadRate(at: now), uploadRate: swarm.statistics.uploadRate(at: now),
            peers: swarm.peers.handshakenCount, knownPeers: swarm.candidates.count,
            isComplete: swarm.picker.isComplete, failure: failure,
            idleTime: swarm.statistics.idleTime(at: now),
            isStarting: !startCheck.isDone,
            wasIncompleteAtStart: startCheck.foundMissingPieces)
        status.peerCounts = swarm.peers.handshakenCounts(at: now)
        return status
    }
}

/// What ``SessionCore`` leaves to the session's actor after a decision: the tasks to start, what goes
/// into the journal, and whether the run's loop must act.
struct SessionEffects {
    /// Assembled pieces to hash and store, and whether smart ban watches each.
    var store: [(piece: PieceIndex, buffer: PieceBuffer, watched: Bool)] = []
    /// Pieces written block by block, to hash from the files.
    var hash: [PieceIndex] = []
    /// Block-layer hash requests to answer from the data: the peer and what to read.
    var blockLayerReads: [(key: PeerKey, plan: V2BlockLayerAnswer)] = []
    /// Peers whose serving task is to start.
    var serve: [PeerKey] = []
    /// Pieces that passed their check, to journal.
    var verified: [PieceIndex] = []
    /// Peers banned (their slots as they were), to journal.
    var banned: [PeerSlot] = []
    /// The fault that stops the torrent (a write or read that failed).
    var failure: String?
    /// Events for the torrent's history (web seeds failing or dropped).
    var events: [(kind: EventKind, detail: String)] = []
    /// The run's loop should act now (new candidates, the download complete).
    var wake = false
}
