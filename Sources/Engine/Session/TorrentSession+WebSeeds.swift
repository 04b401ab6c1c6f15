import NIOCore

/// The session's web seeds (BEP 19): a connection task per web seed connection (``WebSeedWorker``),
/// fed from the core's picker like a peer (see ``SessionCore/webSeedWork(_:now:closing:)``).
extension TorrentSession: WebSeedHost {
    /// Starts the web seeds' connections as tasks of the run (``startChild(_:)``); none while the torrent
    /// is complete (a seed has nothing to fetch).
    func startWebSeeds() {
        guard !metainfo.webSeeds.isEmpty, !core.swarm.picker.isComplete else { return }
        var starts: [(key: PeerKey, url: String)] = []
        changeCore { core, effects in starts = core.addWebSeeds(metainfo.webSeeds, effects: &effects) }
        for (key, url) in starts {
            let worker = WebSeedWorker(
                key: key, urls: WebSeedURLs(base: url, metainfo: metainfo), group: self.group,
                configuration: configuration.webSeeds, host: self)
            startChild { await worker.run() }
        }
    }

    func webSeedWork(_ key: PeerKey) -> WebSeedWork {
        let work = core.webSeedWork(key, now: .now, closing: lifecycle.closingPeers || !lifecycle.isRunning)
        if case .fetch(let run) = work {
            logger.debug("web seed \(key): fetching \(run.blocks.count) block(s) at \(run.range)")
        }
        return work
    }

    nonisolated func webSeedReceived(_ blocks: [(BlockRequest, ByteBuffer)], from key: PeerKey) async -> Bool {
        let (goOn, writes) = await takeWebSeedBlocks(blocks, from: key)
        for (request, bytes) in writes {
            guard (try? await storeBlock(request, bytes: bytes, from: key)) != nil else { return false }
        }
        return goOn
    }

    private func takeWebSeedBlocks(
        _ blocks: [(BlockRequest, ByteBuffer)], from key: PeerKey
    ) -> (goOn: Bool, writes: [(BlockRequest, [UInt8])]) {
        guard !lifecycle.closingPeers else { return (false, []) }
        var result: (goOn: Bool, writes: [(BlockRequest, [UInt8])]) = (false, [])
        changeCore { core, effects in
            result = core.webSeedReceived(blocks, from: key, epoch: persistence.epoch, now: .now, effects: &effects)
        }
        return result
    }

    func webSeedRunEnded(_ key: PeerKey, error: WebSeedError?) {
        logger.debug("web seed \(key): run ended \(error.map { "\($0)" } ?? "whole")")
        let closing = lifecycle.closingPeers || !lifecycle.isRunning || core.swarm.picker.isComplete
        changeCore { $0.webSeedRunEnded(key, error: error, now: .now, closing: closing, effects: &$1) }
    }

    nonisolated func webSeedReadPause(after bytes: Int) -> Duration { limits.reserveDownload(bytes) }
}
