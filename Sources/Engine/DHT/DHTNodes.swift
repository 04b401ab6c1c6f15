/// The process's DHT: one ``MainlineDHT`` per address family it could bind (IPv4, and IPv6 per
/// BEP 32), each with its own table. Lookups ask every family and hand back the peers of all.
package struct DHTNodes: Sendable {
    package let nodes: [MainlineDHT]

    package init(_ nodes: [MainlineDHT]) {
        self.nodes = nodes
    }

    /// Works every node until ``close()``.
    package func run() async {
        await withDiscardingTaskGroup { group in
            for node in nodes { group.addTask { await node.run() } }
        }
    }

    /// Saves every node's table and closes its socket.
    package func close() async {
        for node in nodes { await node.close() }
    }

    /// One lookup of `infoHash` in every family (announcing on `announcePort` when given): the peers
    /// in batches as they come; the stream ends when every family's lookup has.
    package func lookup(infoHash: [UInt8], announcePort: UInt16?) -> AsyncStream<[PeerAddress]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [PeerAddress].self)
        let nodes = self.nodes
        let task = Task {
            await withDiscardingTaskGroup { group in
                for node in nodes {
                    group.addTask {
                        for await batch in await node.lookup(infoHash: infoHash, announcePort: announcePort) {
                            continuation.yield(batch)
                        }
                    }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}

/// A torrent's use of the DHT while it runs: a lookup at once (announcing our port), then again every
/// ``interval``; sooner while the torrent is short of peers (from ``firstRetry``, doubling up to
/// ``shortInterval``).
///
/// Short of peers is the work's own answer, not the lookup's: a node that answers with addresses of
/// nobody (a liar, or a stale swarm) leaves a download with no peer connected, and it looks again
/// soon instead of waiting ``interval`` on the strength of those addresses.
package enum DHTTorrentSearch {
    package static let interval: Duration = .seconds(15 * 60)
    package static let firstRetry: Duration = .seconds(5)
    /// The longest wait between lookups while short of peers.
    package static let shortInterval: Duration = .seconds(5 * 60)
    /// Fewer peers connected than this, while downloading, is short of peers.
    package static let wantedPeers = 4

    /// Searches until the task is cancelled, handing each batch of peers found to `found`.
    ///
    /// - Parameters:
    ///   - announcePort: the port to announce us on; `nil` (no listener) announces nothing.
    ///   - excluding: addresses that are not peers to hand on (ours, which our announce brings back).
    ///   - shortOfPeers: asked after each lookup: whether the work still wants peers (then the next
    ///     lookup comes sooner).
    package static func run(
        _ dht: DHTNodes, infoHash: [UInt8], announcePort: UInt16?, excluding: Set<PeerAddress> = [],
        shortOfPeers: @escaping @Sendable () async -> Bool,
        found: @escaping @Sendable ([PeerAddress]) async -> Void
    ) async {
        var pacing = Pacing()
        while !Task.isCancelled {
            await lookUpOnce(dht, infoHash: infoHash, announcePort: announcePort, excluding: excluding, found: found)
            let pause = pacing.pause(shortOfPeers: await shortOfPeers())
            do { try await Task.sleep(for: pause) } catch { return }
        }
    }

    /// One lookup: hands each batch of peers found, but `excluding`, to `found`; ends with the lookup (or
    /// when the task is cancelled).
    static func lookUpOnce(
        _ dht: DHTNodes, infoHash: [UInt8], announcePort: UInt16?, excluding: Set<PeerAddress>,
        found: @Sendable ([PeerAddress]) async -> Void
    ) async {
        for await batch in dht.lookup(infoHash: infoHash, announcePort: announcePort) {
            let peers = batch.filter { !excluding.contains($0) }
            guard !peers.isEmpty else { continue }
            await found(peers)
        }
    }

    /// The waits between a torrent's lookups.
    struct Pacing: Sendable {
        private var retry = DHTTorrentSearch.firstRetry

        /// The wait after a lookup, the work being `shortOfPeers` or not: ``interval`` when not;
        /// when short, ``firstRetry`` doubled per short lookup in a row, at most ``shortInterval``.
        mutating func pause(shortOfPeers: Bool) -> Duration {
            guard shortOfPeers else {
                retry = DHTTorrentSearch.firstRetry
                return DHTTorrentSearch.interval
            }
            defer { retry = min(retry * 2, DHTTorrentSearch.shortInterval) }
            return retry
        }
    }
}
