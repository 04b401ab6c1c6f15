/// The metrics in Prometheus' text exposition format (version 0.0.4), written directly: one `# HELP`,
/// one `# TYPE` and the samples of each metric.
public enum RPCMetrics {
    /// Every btq state a torrent can be in, so a state with no torrent shows as 0.
    public static let states = [
        "queued", "checking", "metadata", "downloading", "seeding", "paused", "completed", "error",
    ]

    /// The metrics text for `stats`.
    public static func text(_ stats: RPCStatistics) -> [UInt8] {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Int64)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(value)\n" }
        }
        metric(
            "btq_downloaded_bytes_total", "counter", "Payload bytes received by this run.",
            [("", stats.sessionDownloaded)])
        metric(
            "btq_uploaded_bytes_total", "counter", "Payload bytes sent by this run.", [("", stats.sessionUploaded)])
        metric(
            "btq_downloaded_bytes_all_time", "gauge", "Payload bytes received over every torrent's life.",
            [("", stats.totalDownloaded)])
        metric(
            "btq_uploaded_bytes_all_time", "gauge", "Payload bytes sent over every torrent's life.",
            [("", stats.totalUploaded)])
        metric("btq_download_rate_bytes", "gauge", "Download rate, bytes per second.", [("", stats.downloadRate)])
        metric("btq_upload_rate_bytes", "gauge", "Upload rate, bytes per second.", [("", stats.uploadRate)])
        metric(
            "btq_peers_connected", "gauge", "Peers connected over all torrents.", [("", Int64(stats.peersConnected))])
        metric(
            "btq_torrents", "gauge", "Torrents in the queue by state.",
            states.map { ("{state=\"\($0)\"}", Int64(stats.torrentsByState[$0] ?? 0)) })
        metric(
            "btq_pieces_verified_total", "counter", "Pieces that passed their hash check, over all torrents.",
            [("", stats.piecesVerified)])
        metric(
            "btq_pieces_failed_total", "counter", "Pieces that failed their hash check (in this run's sessions).",
            [("", stats.piecesFailed)])
        metric("btq_dht_nodes", "gauge", "Nodes in the DHT routing tables.", [("", Int64(stats.dhtNodes))])
        func histogram(_ name: String, _ help: String, _ histogram: LatencyHistogram) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            var cumulative: Int64 = 0
            for (bound, count) in zip(LatencyHistogram.bounds, histogram.buckets) {
                cumulative += count
                out += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "\(name)_bucket{le=\"+Inf\"} \(histogram.count)\n"
            out += "\(name)_sum \(histogram.sum)\n\(name)_count \(histogram.count)\n"
        }
        histogram(
            "btq_journal_commit_seconds", "Time to commit one batch of progress to the database, in this run.",
            stats.journalCommits)
        histogram(
            "btq_checkpoint_seconds", "Time of one durable checkpoint (file sync and its record), in this run.",
            stats.checkpoints)
        return Array(out.utf8)
    }
}
