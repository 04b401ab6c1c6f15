/// Reads the parts of a torrent that tell where to find peers: trackers (`announce-list` of BEP 12,
/// or `announce`), web seeds (BEP 19), DHT nodes (BEP 5), and the BEP 38 hints.
///
/// These are hints, never a reason to refuse a torrent: it decides which entries are usable and
/// keeps those, trimmed and without repeats, dropping the rest (entries of the wrong type, empty
/// URLs, ports out of range) without an error. Of each list it keeps the first `maxCount` entries.
struct PeerSourcesParser {
    /// The most entries kept of each list (``MetainfoLimits/maxListEntries``).
    let maxCount: Int

    /// `announce-list` tiers, or `[[announce]]` when the list yields nothing. URLs are trimmed of
    /// whitespace; empty URLs, repeated URLs (across all tiers) and empty tiers are dropped.
    /// At most `maxCount` URLs are kept, the first ones.
    func trackerTiers(_ root: BencodeNode) -> [[String]] {
        var seen = Set<String>()
        var tiers: [[String]] = []
        tierLoop: for tierNode in root["announce-list"]?.items ?? .empty {
            var tier: [String] = []
            for urlNode in tierNode.items {
                guard seen.count < maxCount else {
                    if !tier.isEmpty { tiers.append(tier) }
                    break tierLoop
                }
                guard let url = urlNode.string.map(Self.trimmed), !url.isEmpty, seen.insert(url).inserted else {
                    continue
                }
                tier.append(url)
            }
            if !tier.isEmpty { tiers.append(tier) }
        }
        if tiers.isEmpty, let url = root["announce"]?.string.map(Self.trimmed), !url.isEmpty {
            tiers = [[url]]
        }
        return tiers
    }

    /// `url-list` (a string or a list of strings): trimmed, characters not allowed in a URL path
    /// percent-encoded (`test file` -> `test%20file`), deduplicated. For a multi-file torrent of more
    /// than one file the URL names a folder and gets a trailing `/`, as in the reference client. At
    /// most `maxCount` are kept.
    func webSeeds(_ root: BencodeNode, fileCount: Int, isMultiFile: Bool) -> [String] {
        let node = root["url-list"]
        // Lazily: the list may be long, and only its first usable entries are kept.
        let raw =
            node?.string.map { AnySequence([$0]) } ?? AnySequence((node?.items ?? .empty).lazy.compactMap(\.string))
        var seen = Set<String>()
        var seeds: [String] = []
        for text in raw {
            guard seeds.count < maxCount else { break }
            var url = Self.percentEncodedURL(Self.trimmed(text))
            guard !url.isEmpty else { continue }
            if isMultiFile, fileCount > 1, !url.hasSuffix("/") { url += "/" }
            if seen.insert(url).inserted { seeds.append(url) }
        }
        return seeds
    }

    /// `nodes`: `[[host, port], ...]` as `host:port` (`[host]:port` for IPv6).
    func dhtNodes(_ root: BencodeNode) -> [String] {
        var nodes: [String] = []
        for entry in root["nodes"]?.items ?? .empty {
            guard nodes.count < maxCount else { break }
            guard let pair = entry.list, pair.count >= 2, let host = pair[0].string.map(Self.trimmed), !host.isEmpty,
                let port = pair[1].integer, (1...65535).contains(port)
            else { continue }
            nodes.append(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
        }
        return nodes
    }

    /// BEP 38 `collections`, from the info dictionary and the top level, without repeats.
    func collections(_ root: BencodeNode, info: BencodeNode) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for node in [info["collections"]?.items ?? .empty, root["collections"]?.items ?? .empty].joined() {
            guard result.count < maxCount else { break }
            if let text = node.string, seen.insert(text).inserted { result.append(text) }
        }
        return result
    }

    /// BEP 38 `similar`: 20-byte info-hashes, from the info dictionary and the top level.
    func similarTorrents(_ root: BencodeNode, info: BencodeNode) -> [InfoHashV1] {
        var seen = Set<InfoHashV1>()
        var result: [InfoHashV1] = []
        for node in [info["similar"]?.items ?? .empty, root["similar"]?.items ?? .empty].joined() {
            guard result.count < maxCount else { break }
            if let hash = node.bytes.flatMap({ InfoHashV1(bytes: Array($0)) }), seen.insert(hash).inserted {
                result.append(hash)
            }
        }
        return result
    }

    /// `text` without leading and trailing ASCII whitespace and control characters.
    static func trimmed(_ text: String) -> String {
        let utf8 = Array(text.utf8)
        guard let first = utf8.firstIndex(where: { $0 > 0x20 && $0 != 0x7F }),
            let last = utf8.lastIndex(where: { $0 > 0x20 && $0 != 0x7F })
        else { return "" }
        return String(decoding: utf8[first...last], as: UTF8.self)
    }

    /// Percent-encodes the bytes that may not appear in a URL (spaces, controls, non-ASCII, and
    /// `"<>\^`{|}`) after the scheme and host; existing `%XX` escapes are kept.
    static func percentEncodedURL(_ url: String) -> String {
        let bytes = Array(url.utf8)
        var start = 0
        if let scheme = url.firstRange(of: "://") {
            start = url.utf8.distance(from: url.startIndex, to: scheme.upperBound)
            start = bytes[start...].firstIndex(of: UInt8(ascii: "/")) ?? bytes.count
        }
        let unsafe = Set("\"<>\\^`{|}".utf8)
        guard bytes[start...].contains(where: { $0 <= 0x20 || $0 >= 0x7F || unsafe.contains($0) }) else { return url }
        var out = Array(bytes[..<start])
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in bytes[start...] {
            if byte <= 0x20 || byte >= 0x7F || unsafe.contains(byte) {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
