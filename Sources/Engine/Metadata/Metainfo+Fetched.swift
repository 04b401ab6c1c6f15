extension Metainfo {
    /// The metainfo of a magnet link's torrent from its fetched info dictionary: a `.torrent` made of
    /// `info` (kept byte for byte, so the info-hashes hold) and the magnet's trackers, one tier each
    /// as libtorrent does.
    ///
    /// - Throws: ``MetainfoError`` when the info dictionary is not a valid torrent's.
    public init(fetchedInfo info: [UInt8], trackers: [String]) throws {
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
        torrent += Array("4:info".utf8) + info + Array("e".utf8)
        try self.init(bytes: torrent)
    }
}
