import Crypto

/// Parses and validates a `.torrent` file: BEP 3 (v1), BEP 52 (v2 and hybrid), BEP 12 trackers,
/// BEP 19 web seeds, BEP 27 private flag, BEP 47 file attributes and pad files.
///
/// Everything is checked before a ``Metainfo`` exists: paths are sanitized, lengths and piece
/// counts agree, hybrid torrents describe the same files twice, v2 piece layers hash to their
/// roots. The info-hashes are computed over the info dictionary's original bytes.
///
/// Key order: the bencode is decoded leniently about dictionary key order and repeated keys
/// (lookups see the first occurrence), because real v1 torrents with unsorted keys exist and the
/// reference client loads them (their info-hash is still well defined: it is computed over the
/// bytes as given). An info dictionary that declares `meta version` must be canonical, though, as
/// BEP 52 requires and the reference client enforces: there an unsorted or repeated key (an
/// unordered `file tree`, say) is ``MetainfoError/Category/invalidBencoding``. Integers and string
/// lengths are always strict (no leading zeros, no `-0`).
///
/// Trailing bytes after the top-level dictionary are ignored, like the reference client does (some
/// tools append a newline); the hash covers only the info dictionary anyway.
///
/// It decides the torrent's version, piece length and count, name and piece hashes itself, and leaves
/// the rest to smaller types: ``TorrentFilesParser`` reads the files, ``FileLayout`` places them (and
/// matches a hybrid torrent's halves), ``PeerSourcesParser`` reads trackers, web seeds and other
/// hints, and ``DuplicatePathResolver`` renames colliding paths.
struct MetainfoParser {
    let limits: MetainfoLimits

    func parse(_ bytes: [UInt8]) throws -> Metainfo {
        // Everything that reads the decoded values happens in `parseDecoded`: its tape is freed when
        // it returns, before the paths are resolved (the largest step for a torrent of many files).
        var (metainfo, pieceLayers, pathsAreDistinct) = try parseDecoded(bytes)
        // A v2 file tree whose keys needed no sanitizing cannot hold two files at one path, nor can a
        // hybrid's file list, which describes the same files (its pad files are never renamed): the
        // resolver's tree (a third of the memory of the files, for a large torrent) is then not built.
        if !pathsAreDistinct {
            try DuplicatePathResolver.resolve(&metainfo.files, maxRenames: limits.maxDuplicateRenames)
        }
        metainfo.pieceLayers = try pieceLayers.get()
        return metainfo
    }

    /// The metainfo with its paths not yet resolved, its piece layers (or the error they give, thrown
    /// after the resolver's as it always was: renaming paths changes nothing they check), and whether its
    /// paths are known to be distinct already.
    private func parseDecoded(
        _ bytes: [UInt8]
    ) throws -> (metainfo: Metainfo, pieceLayers: Result<[[UInt8]: [UInt8]], any Error>, pathsAreDistinct: Bool) {
        let root: BencodeNode
        do {
            // Depth 3 is `files` and `file tree`: each file's dictionary (and each top folder of a
            // v2 tree) gets its tokens only while it is read, so a torrent of 250,000 files never
            // holds the tokens of all of them at once.
            root = try BencodeDecoder(limits: limits.decoder, keyOrder: .lenient, tapeDepth: 3).decodePrefix(bytes)
        } catch {
            throw MetainfoError(error)
        }
        guard root.isDictionary else {
            throw MetainfoError(.isNotADictionary, "not a torrent file: the top-level value is not a dictionary")
        }
        guard let info = root["info"], info.isDictionary else {
            throw MetainfoError(.missingInfo, "not a torrent file: it has no info dictionary")
        }
        // A slice of the input, not a copy: the metainfo keeps the input as its `torrentBytes`.
        let infoBytes = bytes[info.span]
        let hashV1 = InfoHashV1(bytes: Array(Insecure.SHA1.hash(data: infoBytes)))!
        let hashV2 = InfoHashV2(bytes: Array(SHA256.hash(data: infoBytes)))!

        let isV2 = try metaVersion(of: info) == 2
        let pieceLength = try self.pieceLength(of: info, isV2: isV2)
        guard let rawName = info["name.utf-8"]?.bytes ?? info["name"]?.bytes else {
            throw MetainfoError(.missingName, "the torrent has no name")
        }
        let filesNode = info["files"]
        let treeNode = info["file tree"]
        if treeNode != nil, !isV2 {
            throw MetainfoError(.missingMetaVersion, "the torrent has a v2 file tree but no meta version 2")
        }
        if isV2, treeNode == nil {
            throw MetainfoError(.missingFileTree, "the v2 torrent has no file tree")
        }
        let hasV1 = !isV2 || filesNode != nil || info["length"] != nil
        // A multi-file torrent's folder needs a name; when sanitizing leaves nothing, name it by its
        // info-hash, as the reference client does.
        let sanitizedName = PathSanitizer.sanitize(rawName)
        let folderName = sanitizedName ?? (hasV1 ? hashV1.hex : hashV2.hex)

        let filesParser = TorrentFilesParser(limits: limits)
        var v2Files: TorrentFiles?
        var v2IsSingleFile = false
        var v2KeysAsGiven = false
        if isV2, let treeNode {
            let tree = try filesParser.parseFileTree(
                treeNode, in: bytes, folder: folderName, hasFileList: filesNode != nil, pieceLength: pieceLength)
            v2Files = tree.files
            v2IsSingleFile = tree.isSingleFile
            v2KeysAsGiven = tree.keysAsGiven
        }
        var v1Files: TorrentFiles?
        if hasV1 {
            if let filesNode {
                v1Files = try filesParser.parseFileList(filesNode, folder: folderName)
            } else {
                guard let sanitizedName else {
                    throw MetainfoError(.missingName, "the torrent's name is empty once made safe for a file name")
                }
                v1Files = [try filesParser.parseSingleFile(info, name: sanitizedName)]
            }
        }

        let version: MetainfoVersion
        let isMultiFile: Bool
        var files: TorrentFiles
        switch (v1Files, v2Files) {
        case (var v1?, nil):
            version = .v1
            isMultiFile = filesNode != nil
            v1Files = nil  // `v1` is then the one reference: laid out in place, not copied
            try FileLayout.layOutV1(&v1)
            files = v1
        case (nil, let v2?):
            version = .v2
            isMultiFile = !v2IsSingleFile
            v2Files = nil  // `files` is then the one reference: renames change it in place
            files = v2
        case (var v1?, let v2?):
            version = .hybrid
            isMultiFile = filesNode != nil
            v1Files = nil  // laid out in place, not copied
            try FileLayout.layOutV1(&v1)
            try FileLayout.layOutHybrid(&v1, v2: v2, pieceLength: pieceLength)
            files = v1
        case (nil, nil):
            preconditionFailure("a torrent is v1, v2 or both")
        }
        guard !files.isEmpty else { throw MetainfoError(.noFiles, "the torrent has no files") }
        let totalLength = files.offset(at: files.count - 1) + files.length(at: files.count - 1)
        guard totalLength > 0 else { throw MetainfoError(.invalidLength, "the torrent's content is empty") }

        let pieceCount = try self.pieceCount(totalLength: totalLength, pieceLength: pieceLength)
        var pieceHashes: ArraySlice<UInt8>?
        if hasV1 {
            guard let pieces = info["pieces"]?.bytes else {
                throw MetainfoError(.missingPieces, "the torrent has no piece hashes")
            }
            guard pieces.count == pieceCount * 20 else {
                throw MetainfoError(
                    .invalidHashes,
                    "the torrent has \(pieces.count) bytes of piece hashes; \(pieceCount) pieces need \(pieceCount * 20)"
                )
            }
            pieceHashes = pieces  // a slice of `bytes`, which the metainfo keeps as its `torrentBytes`
        }
        let pieceLayers = Result { () throws -> [[UInt8]: [UInt8]] in
            isV2 ? try verifyPieceLayers(root["piece layers"], files: files, pieceLength: pieceLength) : [:]
        }

        let peerSources = PeerSourcesParser(maxCount: limits.maxListEntries)
        var metainfo = Metainfo(
            version: version,
            infoHashes: InfoHashes(v1: hasV1 ? hashV1 : nil, v2: isV2 ? hashV2 : nil)!,
            name: isMultiFile || version == .v2 ? folderName : files[0].path[0],
            isMultiFile: isMultiFile, pieceLength: pieceLength, pieceCount: pieceCount, pieceHashes: pieceHashes,
            pieceLayers: [:], files: files, totalLength: totalLength, trackerTiers: peerSources.trackerTiers(root),
            webSeeds: peerSources.webSeeds(root, fileCount: files.count, isMultiFile: isMultiFile),
            isPrivate: (info["private"]?.integer ?? 0) != 0,
            creationDate: root["creation date"]?.integer.flatMap { $0 >= 0 ? $0 : nil },
            comment: text(root["comment.utf-8"] ?? root["comment"]),
            createdBy: text(root["created by.utf-8"] ?? root["created by"]),
            infoBytes: [], torrentBytes: bytes)
        metainfo.infoByteSlice = infoBytes
        metainfo.dhtNodes = peerSources.dhtNodes(root)
        metainfo.collections = peerSources.collections(root, info: info)
        metainfo.similarTorrents = peerSources.similarTorrents(root, info: info)
        // v2 and hybrid alike: a hybrid's real files are the tree's, checked path by path above.
        return (metainfo, pieceLayers, v2KeysAsGiven)
    }

    /// Checks the `piece layers` dictionary (BEP 52) and returns the valid layers by pieces root.
    ///
    /// Layers may be missing (the torrent is then still valid, like a magnet link: peers send them),
    /// but every layer present must belong to a file, hold one 32-byte hash per piece of that file,
    /// and hash up to the file's `pieces root`.
    func verifyPieceLayers(
        _ node: BencodeNode?, files: TorrentFiles, pieceLength: Int
    ) throws -> [[UInt8]: [UInt8]] {
        guard let node else { return [:] }
        guard let entries = node.entries else {
            throw MetainfoError(.invalidPieceLayer, "the torrent's piece layers are not a dictionary")
        }
        // Pieces per root; identical files share a root, and must then have the same length.
        var piecesByRoot: [[UInt8]: Int64] = [:]
        for file in files where !file.isPad {
            guard let root = file.piecesRoot else { continue }
            let pieces = (file.length + Int64(pieceLength) - 1) / Int64(pieceLength)
            if let known = piecesByRoot[root], known != pieces {
                throw MetainfoError(.inconsistentFiles, "two files share a pieces root but differ in length")
            }
            piecesByRoot[root] = pieces
        }
        var layers: [[UInt8]: [UInt8]] = [:]
        for entry in entries {
            let root = Array(entry.key)
            guard let pieces = piecesByRoot[root] else {
                throw MetainfoError(.invalidPieceLayer, "a piece layer belongs to no file of the torrent")
            }
            guard let layer = entry.value.bytes, Int64(layer.count) == pieces * 32 else {
                throw MetainfoError(
                    .invalidPieceLayer,
                    "a piece layer does not hold one 32-byte hash for each of its file's \(pieces) pieces")
            }
            // Checked in place; copied only once it is known good.
            guard MerkleTree.root(ofPieceLayer: layer, pieceLength: pieceLength) == root else {
                throw MetainfoError(.invalidPieceLayer, "a piece layer does not hash to its file's pieces root")
            }
            layers[root] = Array(layer)
        }
        return layers
    }

    /// `meta version`: absent or 1 for v1, 2 for v2 and hybrid. An info dictionary that declares a
    /// version must be canonical bencode.
    private func metaVersion(of info: BencodeNode) throws -> Int64 {
        guard let version = info["meta version"]?.integer, version > 0 else { return 1 }
        guard info.isCanonical else {
            throw MetainfoError(
                .invalidBencoding, "the info dictionary of a v2 torrent is not canonical bencode: keys out of order")
        }
        guard version <= 2 else {
            throw MetainfoError(.unknownVersion, "the torrent has meta version \(version); only 1 and 2 exist")
        }
        return version
    }

    /// `piece length`: positive and at most the limit; for v2 also a power of two >= 16 KiB (BEP 52).
    private func pieceLength(of info: BencodeNode, isV2: Bool) throws -> Int {
        guard let value = info["piece length"]?.integer else {
            throw MetainfoError(.missingPieceLength, "the torrent has no piece length")
        }
        guard value > 0, value <= limits.maxPieceLength else {
            throw MetainfoError(
                .missingPieceLength, "the piece length \(value) is not between 1 and \(limits.maxPieceLength)")
        }
        if isV2, value < MerkleTree.blockSize || value.nonzeroBitCount != 1 {
            throw MetainfoError(
                .missingPieceLength, "the v2 piece length \(value) is not a power of two of at least 16 KiB")
        }
        return Int(value)
    }

    /// A string value as text (invalid UTF-8 repaired), cut to ``MetainfoLimits/maxTextBytes`` on a
    /// character boundary.
    private func text(_ node: BencodeNode?) -> String? {
        guard let bytes = node?.bytes else { return nil }
        guard bytes.count > limits.maxTextBytes else { return String(decoding: bytes, as: UTF8.self) }
        var end = bytes.startIndex + limits.maxTextBytes
        // Back up to the start of a UTF-8 sequence (at most 3 continuation bytes).
        while end > bytes.startIndex, bytes[end] & 0xC0 == 0x80, bytes.startIndex + limits.maxTextBytes - end < 3 {
            end -= 1
        }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// The number of pieces of `totalLength` bytes, within the limit.
    private func pieceCount(totalLength: Int64, pieceLength: Int) throws -> Int {
        let length = Int64(pieceLength)
        let count = totalLength / length + (totalLength % length == 0 ? 0 : 1)
        guard count <= Int64(limits.maxPieces) else {
            throw MetainfoError(
                .tooManyPieces, "the torrent has \(count) pieces; at most \(limits.maxPieces) are supported")
        }
        return Int(count)
    }
}
