extension Metainfo {
    /// The metainfo of a magnet link's torrent from its fetched info dictionary: a `.torrent` made of
    /// `info` (kept byte for byte, so the info-hashes hold), the magnet's trackers, one tier each as
    /// libtorrent does, its web seeds (`ws=`, BEP 19) as the `url-list`, and for a v2 torrent the
    /// `piece layers` fetched from peers (by `pieces root`), so the stored torrent is complete.
    ///
    /// - Throws: ``MetainfoError`` when the info dictionary is not a valid torrent's, or when `info`
    ///   holds more than that one dictionary (the bytes after it would otherwise land in the wrapper
    ///   `.torrent`, and the info-hash of the result would not be that of `info`).
    public init(
        fetchedInfo info: [UInt8], trackers: [String], webSeeds: [String] = [], pieceLayers: [[UInt8]: [UInt8]] = [:]
    ) throws {
        var torrent: [UInt8] = Array("d".utf8)
        let encoder = BencodeEncoder()
        if let first = trackers.first {
            torrent += Array("8:announce".utf8)
            encoder.encode(.text(first), into: &torrent)
            if trackers.count > 1 {
                torrent += Array("13:announce-list".utf8)
                encoder.encode(.list(trackers.map { .list([.text($0)]) }), into: &torrent)
            }
        }
        torrent += Array("4:info".utf8) + info
        if !pieceLayers.isEmpty {
            torrent += Array("12:piece layers".utf8)
            encoder.encode(.dictionary(pieceLayers.mapValues { .string($0) }), into: &torrent)
        }
        if !webSeeds.isEmpty {
            torrent += Array("8:url-list".utf8)
            encoder.encode(.list(webSeeds.map { .text($0) }), into: &torrent)
        }
        torrent += Array("e".utf8)
        try self.init(bytes: torrent)
        // The info value starts where `info` does, so it is all of `info` exactly when the lengths agree.
        guard infoByteSlice.count == info.count else {
            throw MetainfoError(
                .invalidBencoding,
                "the fetched info dictionary is followed by \(info.count - infoByteSlice.count) more bytes",
                bencodeError: BencodeError(.trailingData, at: infoByteSlice.count))
        }
    }
}
