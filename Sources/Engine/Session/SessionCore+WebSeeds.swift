import NIOCore

/// The torrent's web seeds (BEP 19) as sources of the same picker as peers: each connection asks for
/// blocks under a key of its own, its blocks go into the same assemblies and checks, its failures rest
/// it, and pieces that fail their hash blame it like a peer (see ``WebSeeds``).
extension SessionCore {
    /// Why a web seed URL cannot be used, or `nil` when it can.
    static func webSeedUnusable(_ url: String) -> String? {
        guard let parsed = try? TrackerURL(parsing: url), parsed.scheme == .http || parsed.scheme == .https else {
            return "unsupported URL"
        }
        return nil
    }

    /// Takes the torrent's web seeds, ``SessionConfiguration/webSeeds`` connections each; returns the
    /// connections to start (a key and the seed's URL). An unusable URL is recorded as dropped.
    mutating func addWebSeeds(_ urls: [String], effects: inout SessionEffects) -> [(key: PeerKey, url: String)] {
        var starts: [(key: PeerKey, url: String)] = []
        for url in urls.prefix(WebSeedConfiguration.maxWebSeeds) {
            let index = webSeeds.add(url: url, connections: configuration.webSeeds.connections)
            if let reason = Self.webSeedUnusable(url) {
                dropWebSeed(index, because: reason, effects: &effects)
                continue
            }
            // It has every piece: counted as a seed, so the picker offers pieces no peer announced.
            swarm.picker.addSeed()
            webSeeds[index].countedAsSeed = true
            starts += webSeeds[index].keys.map { ($0, url) }
        }
        return starts
    }

    /// How long a web seed connection with nothing to fetch waits before it asks again.
    static let webSeedIdleWait: Duration = .seconds(1)

    /// The next blocks for the web seed connection at `key`: a run of consecutive blocks from the
    /// picker (as it would hand a peer that has every piece), or a wait, or the end.
    mutating func webSeedWork(_ key: PeerKey, now: ContinuousClock.Instant, closing: Bool) -> WebSeedWork {
        guard let index = webSeeds.seed(of: key), !closing, !swarm.picker.isComplete else { return .stop }
        switch webSeeds[index].phase {
        case .dropped:
            return .stop
        case .resting(let until):
            if until > now { return .wait(until - now) }
            webSeeds[index].phase = .active
            webSeeds[index].phaseUnsaved = true
        case .active:
            break
        }
        // In endgame every missing block is asked of someone already: a web seed asks for whole runs,
        // so duplicating them would waste more than it saves. What fails is free again, and asked then.
        guard !swarm.picker.isEndgame else { return .wait(Self.webSeedIdleWait) }
        let count = max(1, configuration.webSeeds.maxRequestBytes / PieceLayout.blockSize)
        var picked = swarm.picker.pickBlocks(for: key, count: count, peerHas: { _ in true })
        // The pick may have reached endgame and added blocks others fetch already: given back.
        let picker = swarm.picker
        let duplicates = picked.filter { request in
            guard let block = layout.block(for: request), let states = picker.blockStates(of: request.piece),
                case .requested(let peers) = states[block.value]
            else { return false }
            return peers.count > 1
        }
        if !duplicates.isEmpty {
            let skipped = Set(duplicates)
            picked.removeAll { skipped.contains($0) }
            for request in duplicates { swarm.picker.requestFailed(request, peer: key) }
        }
        guard let (run, rest) = WebSeedRun.first(of: picked, layout: layout) else { return .wait(Self.webSeedIdleWait) }
        for request in rest { swarm.picker.requestFailed(request, peer: key) }
        return .fetch(run)
    }

    /// Blocks a web seed connection fetched: counted, given to the picker and assembled like a peer's.
    /// Returns whether the connection goes on, and the blocks to write to the files directly (no room
    /// in memory for their piece).
    mutating func webSeedReceived(
        _ blocks: [(BlockRequest, ByteBuffer)], from key: PeerKey, epoch: Int, now: ContinuousClock.Instant,
        effects: inout SessionEffects
    ) -> (goOn: Bool, writes: [(BlockRequest, [UInt8])]) {
        guard let index = webSeeds.seed(of: key), !webSeeds[index].isDropped else { return (false, []) }
        var writes: [(BlockRequest, [UInt8])] = []
        for (request, block) in blocks {
            let length = Int64(request.length)
            webSeeds[index].downloaded += length
            webSeeds[index].downloadedUnsaved += length
            swarm.statistics.downloaded(length, at: now)
            let arrival = swarm.picker.blockReceived(request, from: key)
            swarm.sendCancels(arrival.cancels)
            guard arrival.isAccepted else {
                swarm.statistics.wasted(length)
                continue
            }
            if case .write(let request, let bytes) = assemble(request, block, epoch: epoch, effects: &effects) {
                writes.append((request, bytes))
            }
        }
        return (!swarm.picker.isComplete, writes)
    }

    /// A web seed connection's run ended, whole or with `error`: what it did not deliver goes back to
    /// the picker; a failure rests the web seed (doubling, or as `Retry-After` asks) or drops it. A
    /// failure while `closing` (the run ends, its connections are cut) is no failure of the server.
    mutating func webSeedRunEnded(
        _ key: PeerKey, error: WebSeedError?, now: ContinuousClock.Instant, closing: Bool = false,
        effects: inout SessionEffects
    ) {
        swarm.picker.peerDisconnected(key)
        guard let index = webSeeds.seed(of: key), !webSeeds[index].isDropped, !closing else { return }
        guard let error else {
            webSeeds[index].failuresInARow = 0
            return
        }
        swarm.fillAllRequests(limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress)
        webSeeds[index].failuresInARow += 1
        let failures = webSeeds[index].failuresInARow
        let backoff = configuration.webSeeds.backoff
        guard error.isRetryable else {
            dropWebSeed(index, because: "\(error)", effects: &effects)
            return
        }
        guard !backoff.givesUp(afterFailures: failures) else {
            dropWebSeed(index, because: "\(failures) failures in a row, the last: \(error)", effects: &effects)
            return
        }
        var retryAfter: Duration?
        if case .unavailable(_, let after) = error { retryAfter = after }
        let delay = backoff.delay(afterFailures: failures, retryAfter: retryAfter)
        webSeeds[index].phase = .resting(until: now + delay)
        webSeeds[index].phaseUnsaved = true
        logger.info("web seed \(webSeeds[index].url): \(error); resting \(delay)")
        // The first failure, then one at each doubling: a server down for days writes a few events.
        if failures & (failures - 1) == 0 {
            effects.events.append(
                (
                    .webSeedFailed,
                    "\(webSeeds[index].url): \(error) (failure \(failures) in a row, "
                        + "retrying in \(delay.components.seconds) s)"
                ))
        }
    }

    /// A piece that `senders` (picker keys) contributed to failed its hash check: each web seed among
    /// them takes its share of the blame (1/k of k sources, as peers do) and is dropped when its blame
    /// reaches ``SessionConfiguration/hashFailuresToBan``.
    mutating func webSeedsSentFailedPiece(_ piece: PieceIndex, senders: [PeerKey], effects: inout SessionEffects) {
        let seeds = Set(senders.compactMap { webSeeds.seed(of: $0) })
        guard !seeds.isEmpty else { return }
        let sources = Set(senders.map { key in webSeeds.seed(of: key).map { "w\($0)" } ?? "p\(key.value)" }).count
        for index in seeds.sorted() where !webSeeds[index].isDropped {
            webSeeds[index].hashFailures += 1
            webSeeds[index].hashFailuresUnsaved += 1
            webSeeds[index].blame += 1 / Double(sources)
            let failures = webSeeds[index].hashFailures
            if webSeeds[index].blame >= Double(configuration.hashFailuresToBan) {
                dropWebSeed(index, because: "after \(failures) hash failure(s)", effects: &effects)
            } else {
                effects.events.append(
                    (
                        .webSeedFailed,
                        "\(webSeeds[index].url): piece \(piece) failed its hash check "
                            + "(hash failure \(failures), \(sources) source(s))"
                    ))
            }
        }
    }

    /// Drops web seed `index` for the run: its connections stop, their blocks go back to the picker,
    /// and the history says why.
    mutating func dropWebSeed(_ index: Int, because reason: String, effects: inout SessionEffects) {
        guard webSeeds.drop(index, because: reason) else { return }
        for key in webSeeds[index].keys { swarm.picker.peerDisconnected(key) }
        if webSeeds[index].countedAsSeed {
            swarm.picker.removeSeed()
            webSeeds[index].countedAsSeed = false
        }
        logger.info("dropping web seed \(webSeeds[index].url): \(reason)")
        effects.events.append((.webSeedDropped, "\(webSeeds[index].url): \(reason)"))
        swarm.fillAllRequests(limits: limits, maxPiecesInProgress: verification.maxPiecesInProgress)
    }

    /// Moves the web seeds' changed records into `journal` (for `btq peers`).
    mutating func recordWebSeeds(in journal: inout ProgressJournal, torrentId: Int64) {
        for index in webSeeds.unsaved {
            journal.record(webSeeds[index].record(torrentId: torrentId))
            webSeeds.recorded(index)
        }
    }
}

extension WebSeeds.Seed {
    /// Its record for the peer history: the URL as the address, with the URL's port (`btq peers` shows
    /// the URL alone for source `web-seed`), its state as the client, dropped as banned.
    func record(torrentId: Int64) -> PeerUpdate {
        PeerUpdate(
            torrentId: torrentId, address: url, port: Self.port(of: url), client: stateText, source: .webSeed,
            downloadedDelta: downloadedUnsaved, hashFailuresDelta: hashFailuresUnsaved,
            banned: isDropped ? true : nil)
    }

    /// The port a URL names, else its scheme's.
    static func port(of url: String) -> Int {
        if let parsed = try? TrackerURL(parsing: url) { return parsed.port }
        return url.lowercased().hasPrefix("https:") ? 443 : 80
    }
}
