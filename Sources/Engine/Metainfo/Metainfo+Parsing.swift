extension Metainfo {
    /// Parses and validates a `.torrent` file with the default ``MetainfoLimits``.
    ///
    /// What callers can rely on once this returns:
    /// - ``infoHashes`` are computed over the info dictionary's original bytes (``infoBytes``);
    ///   v1 torrents have only `v1`, v2-only torrents only `v2`, hybrids both.
    /// - Every ``TorrentFile/path`` and ``TorrentFile/symlinkTarget`` is sanitized (see
    ///   ``PathSanitizer``) and colliding paths are renamed (`bar.1.txt`), so nothing can be written
    ///   outside the download folder.
    /// - ``files`` are in stream order with contiguous offsets summing to ``totalLength``; pad files
    ///   (``TorrentFile/isPad``) are included and must never be written. For v2-only torrents the
    ///   piece-alignment gaps are made explicit as `.pad/<size>` files, like in hybrid torrents.
    /// - ``pieceCount`` is `ceil(totalLength / pieceLength)`; ``pieceHashes`` has 20 bytes per piece
    ///   (v1 and hybrid); ``pieceLayers`` holds only layers that hash to their file's root (v2 layers
    ///   may be missing: peers send them).
    ///
    /// Leniency, as in the reference client: dictionary keys out of order or repeated are accepted
    /// outside a v2 info dictionary (the first of a repeated key wins), and bytes after the
    /// top-level dictionary are ignored.
    ///
    /// - Throws: ``MetainfoError``, whose ``MetainfoError/category`` says what was wrong.
    public init(bytes: [UInt8]) throws {
        self = try MetainfoParser(limits: .default).parse(bytes)
    }

    /// Parses and validates a `.torrent` file with the given limits; see ``init(bytes:)``.
    ///
    /// - Throws: ``MetainfoError``.
    public init(bytes: [UInt8], limits: MetainfoLimits) throws {
        self = try MetainfoParser(limits: limits).parse(bytes)
    }
}
