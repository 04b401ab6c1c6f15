/// Parses the bencoded body of an HTTP tracker's announce and scrape replies (BEP 3, 23, 7, 48).
public enum HTTPTrackerResponse {
    /// Tracker replies are small; anything beyond this is refused before decoding.
    public static let maxBodyLength = 2 << 20

    static let decoder = BencodeDecoder(
        limits: .init(maxDepth: 8, maxElements: 200_000, maxStringLength: maxBodyLength, maxInputLength: maxBodyLength),
        keyOrder: .lenient)

    /// Decodes an announce reply: `failure reason` becomes ``TrackerError/failure(_:)``; compact
    /// (`peers` as a string), dictionary (`peers` as a list) and `peers6` peer lists are all read.
    public static func announce(_ body: [UInt8]) throws -> AnnounceResponse {
        let root = try dictionary(body)
        if let reason = root["failure reason"]?.string {
            throw TrackerError.failure(String(reason.prefix(1024)))
        }
        guard let interval = root["interval"]?.integer else {
            throw TrackerError.malformed("no interval")
        }
        var response = AnnounceResponse(interval: Int(clamping: interval))
        response.minInterval = root["min interval"]?.integer.map { Int(clamping: $0) }
        response.seeders = root["complete"]?.integer.map { Int(clamping: max(0, $0)) }
        response.leechers = root["incomplete"]?.integer.map { Int(clamping: max(0, $0)) }
        response.completed = root["downloaded"]?.integer.map { Int(clamping: max(0, $0)) }
        response.trackerId = root["tracker id"]?.string
        response.warning = root["warning message"]?.string.map { String($0.prefix(1024)) }
        if let peers = root["peers"] {
            if let compact = peers.bytes {
                response.peers += PeerAddress.compactIPv4(compact)
            } else if let list = peers.list {
                for entry in list {
                    guard let ip = entry["ip"]?.string, let port = entry["port"]?.integer,
                        (1...65535).contains(port)
                    else { continue }
                    let text = ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
                    guard let address = PeerAddress(parsing: text) else { continue }
                    response.peers.append(address)
                    if let id = entry["peer id"]?.bytes, id.count == 20 {
                        response.peerIds[address] = Array(id)
                    }
                }
            } else {
                throw TrackerError.malformed("peers is neither a string nor a list")
            }
        }
        if let peers6 = root["peers6"]?.bytes {
            response.peers += PeerAddress.compactIPv6(peers6)
        }
        return response
    }

    /// Decodes a scrape reply for `infoHash` (`files` keyed by the raw 20-byte hash).
    /// A `flags` dictionary's `min_request_interval` (BEP 48) comes back clamped to
    /// ``ScrapeResult/minRequestIntervalRange``.
    public static func scrape(_ body: [UInt8], infoHash: [UInt8]) throws -> ScrapeResult {
        guard let result = try scrape(body, infoHashes: [infoHash])[infoHash] else {
            throw TrackerError.notInScrapeReply
        }
        return result
    }

    /// Decodes a scrape reply for several torrents: the results of those of `infoHashes` that `files`
    /// mentions (entries for hashes not asked are ignored), in one pass over `files`. The reply's
    /// `flags` → `min_request_interval` goes with each result.
    ///
    /// - Throws: the tracker's `failure reason`, or ``TrackerError/malformed(_:)`` without `files`.
    public static func scrape(_ body: [UInt8], infoHashes: [[UInt8]]) throws -> [[UInt8]: ScrapeResult] {
        let range = ScrapeResult.minRequestIntervalRange
        let root = try dictionary(body)
        if let reason = root["failure reason"]?.string {
            throw TrackerError.failure(String(reason.prefix(1024)))
        }
        guard let files = root["files"]?.entries else { throw TrackerError.malformed("no files in scrape reply") }
        let asked = Set(infoHashes)
        let minRequestInterval = root["flags"]?["min_request_interval"]?.integer.map {
            Int(clamping: min(max($0, Int64(range.lowerBound)), Int64(range.upperBound)))
        }
        var results: [[UInt8]: ScrapeResult] = [:]
        for file in files where file.key.count == 20 {
            let (hash, entry) = (Array(file.key), file.value)
            guard asked.contains(hash), results[hash] == nil else { continue }
            results[hash] = ScrapeResult(
                seeders: Int(clamping: max(0, entry["complete"]?.integer ?? 0)),
                completed: Int(clamping: max(0, entry["downloaded"]?.integer ?? 0)),
                leechers: Int(clamping: max(0, entry["incomplete"]?.integer ?? 0)),
                minRequestInterval: minRequestInterval)
        }
        return results
    }

    /// The scrape URL of an announce URL (BEP 48 convention: the last path element `announce`
    /// becomes `scrape`), or `nil` when the tracker has none.
    public static func scrapeURL(announce: String) -> String? {
        let path = announce.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let base = path.first, let slash = base.lastIndex(of: "/") else { return nil }
        let last = base[base.index(after: slash)...]
        guard last.hasPrefix("announce") else { return nil }
        var url = String(base[..<slash]) + "/scrape" + String(last.dropFirst("announce".count))
        if path.count == 2 { url += "?" + path[1] }
        return url
    }

    private static func dictionary(_ body: [UInt8]) throws -> BencodeNode {
        guard body.count <= maxBodyLength else { throw TrackerError.tooLarge(limit: maxBodyLength) }
        let root: BencodeNode
        do {
            root = try decoder.decode(body)
        } catch {
            throw TrackerError.malformed("\(error)")
        }
        guard root.isDictionary else { throw TrackerError.malformed("reply is not a dictionary") }
        return root
    }
}
