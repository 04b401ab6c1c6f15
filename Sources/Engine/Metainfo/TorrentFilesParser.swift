/// Reads the file descriptions of an info dictionary into ``TorrentFiles``: the v1 `files` list, the
/// single file of a v1 torrent without one, and the v2 `file tree` (BEP 3, BEP 52, BEP 47).
///
/// It decides what each file is: its path, sanitized element by element (``PathSanitizer``: an
/// unusable element such as `..` becomes `_`, never a folder level), its length, its BEP 47
/// attributes (pad, executable, hidden, symlink) and its symlink target (kept below the torrent's
/// root). It refuses a description that is malformed or over ``MetainfoLimits`` (too many files, a
/// path too deep or too long, a length out of range) with a ``MetainfoError``. The v2 tree is laid
/// out as it is read; a v1 list gets its offsets afterwards from ``FileLayout``.
struct TorrentFilesParser {
    let limits: MetainfoLimits

    /// The marker of legacy (BitComet) pad files, which predate the `p` attribute.
    static let legacyPadMarker = "_____padding_file_"

    /// The v1 `files` list. Paths are `[folder] + sanitized path`, stored below `folder` (see
    /// ``TorrentFiles``).
    func parseFileList(_ node: BencodeNode, folder: String) throws -> TorrentFiles {
        guard node.isList else {
            throw MetainfoError(.fileParseFailed, "the torrent's file list is not a list")
        }
        // Counted and then visited in place: no array of the (up to 250,000) entries.
        let count = node.count
        guard count > 0 else { throw MetainfoError(.noFiles, "the torrent's file list is empty") }
        try checkFileCount(count)
        var files = TorrentFiles(folder: folder)
        // The paths take about as many bytes as the list's path strings, which are fewer than the
        // list's; pages of the reservation that are never written cost no memory.
        files.reserveCapacity(files: count, textBytes: node.span.count)
        // One buffer for every file's path, reused.
        var path: [UInt8] = []
        for entry in node.items {
            guard entry.isDictionary else {
                throw MetainfoError(.fileParseFailed, "an entry of the torrent's file list is not a dictionary")
            }
            var attributes = Self.attributes(entry)
            let length = try fileLength(entry, attributes: attributes)
            path.removeAll(keepingCapacity: true)
            if let elements = Self.listNode(entry["path.utf-8"]) ?? Self.listNode(entry["path"]), elements.count > 0 {
                if try appendPath(elements, to: &path, folderBytes: folder.utf8.count) { attributes.insert(.pad) }
            } else if attributes.contains(.pad) {
                path += ".pad/".utf8
                path += String(length).utf8
            } else {
                throw MetainfoError(.missingName, "a file in the torrent has no path")
            }
            let (kept, target) = try symlink(of: entry, attributes: attributes, symlinkPrefix: [folder])
            files.append(relativePath: path, inFolder: true, length: length, attributes: kept, symlinkTarget: target)
        }
        return files
    }

    /// True when `element` contains ``legacyPadMarker``. The bytes are searched first (fast, no
    /// Foundation); only a byte match is confirmed by `String.contains`, whose comparison (canonical
    /// equivalence) this keeps.
    static func hasLegacyPadMarker(_ element: String) -> Bool {
        containsLegacyPadMarker(element.utf8) && element.contains(legacyPadMarker)
    }

    /// True when the bytes of ``legacyPadMarker`` occur in `bytes`.
    static func containsLegacyPadMarker<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        let marker = legacyPadMarker.utf8
        var rest = bytes[...]
        guard let first = marker.first else { return false }
        while let start = rest.firstIndex(of: first) {
            if rest[start...].starts(with: marker) { return true }
            rest = rest[rest.index(after: start)...]
        }
        return false
    }

    /// `node` when it is a list.
    private static func listNode(_ node: BencodeNode?) -> BencodeNode? {
        node.flatMap { $0.isList ? $0 : nil }
    }

    /// The one file of a v1 torrent without a `files` list, described by the info dictionary itself
    /// and named `name` (the torrent's sanitized name).
    func parseSingleFile(_ info: BencodeNode, name: String) throws -> TorrentFile {
        let attributes = Self.attributes(info)
        let length = try fileLength(info, attributes: attributes)
        let (kept, target) = try symlink(of: info, attributes: attributes, symlinkPrefix: [])
        return TorrentFile(relativePath: name, length: length, offset: 0, attributes: kept, symlinkTarget: target)
    }

    /// The v2 `file tree`, laid out. A tree holding one file and no v1 `files` list is a single-file
    /// torrent whose file is named by its key; otherwise paths are `[folder] + sanitized keys`.
    ///
    /// Files are laid out as they are found (the tree's key order is the v2 piece space's order): in a
    /// multi-file torrent each non-empty file starts on a piece boundary (BEP 52), and the gaps become
    /// explicit pad files (`.pad/<size>`, like the reference client and hybrid torrents), so offsets
    /// mean the same for every version and the disk layer needs one model. It is padded after its last
    /// file too (tail padding); a single-file torrent keeps its one file.
    ///
    /// `keysAsGiven` is true when every key was a usable name as it stands (no element was sanitized):
    /// the keys of one folder are distinct (a v2 info dictionary is canonical) and a key is either a
    /// file or a folder, so no two paths of the tree can then be the same.
    func parseFileTree(
        _ tree: BencodeNode, in source: [UInt8], folder: String, hasFileList: Bool, pieceLength: Int
    ) throws -> (files: TorrentFiles, isSingleFile: Bool, keysAsGiven: Bool) {
        guard tree.isDictionary else {
            throw MetainfoError(.fileParseFailed, "the torrent's file tree is not a dictionary")
        }
        var entries = tree.lazyEntries
        let isSingleFile = !hasFileList && tree.count == 1 && entries.next().flatMap { Self.leaf(of: $0.value) } != nil
        var walk = TreeWalk(
            files: TorrentFiles(folder: isSingleFile ? "" : folder), source: source,
            prefixBytes: isSingleFile ? 0 : folder.utf8.count + 1,
            symlinkPrefix: isSingleFile ? [] : [folder], pieceLength: Int64(pieceLength))
        // Room for as many files as the tree can hold (each takes 20 bytes or more of it, and a pad
        // file may follow it) so that the storage never grows by copying; pages of the reservation
        // that are never written cost no memory. (Reserved in place: a copy would not keep it.)
        let most = min(limits.maxFiles, tree.span.count / 20 + 1)
        walk.files.reserveCapacity(files: 2 * most, textBytes: tree.span.count)
        try self.walk(tree, elements: walk.symlinkPrefix.count, depth: 0, &walk)
        guard walk.realFiles > 0 else { throw MetainfoError(.noFiles, "the torrent's file tree is empty") }
        return (walk.files, isSingleFile, walk.keysAsGiven)
    }

    /// A walk of the v2 file tree: the path so far (below the torrent's folder, as bytes), the files
    /// laid out so far, and where the next one starts.
    private struct TreeWalk {
        var files: TorrentFiles
        /// The `.torrent` the tree was decoded from (its `pieces root` strings are kept in place).
        let source: [UInt8]
        var path: [UInt8] = []
        /// The folder's name and its `/` (0 for a single-file torrent).
        let prefixBytes: Int
        let symlinkPrefix: [String]
        let pieceLength: Int64
        var offset: Int64 = 0
        /// Files found, pad files not counted.
        var realFiles = 0
        /// No key so far needed sanitizing.
        var keysAsGiven = true
        /// Paths are below the torrent's folder, and pad files follow non-empty files.
        var isMultiFile: Bool { prefixBytes > 0 }
    }

    /// Depth-first over a directory of the file tree, in key order.
    ///
    /// `elements` is the number of elements of the path so far, the folder's included.
    private func walk(_ directory: BencodeNode, elements: Int, depth: Int, _ walk: inout TreeWalk) throws {
        guard depth <= 100, directory.isDictionary else {
            throw MetainfoError(.fileParseFailed, "the torrent's file tree is malformed or nested too deep")
        }
        guard elements < limits.maxPathDepth else { throw pathTooDeep("a file path") }
        let base = walk.path.count
        // One entry at a time: a folder's entries are decoded as they are visited (see `BencodeTape`).
        for entry in directory.lazyEntries {
            guard !entry.key.isEmpty, entry.value.isDictionary else {
                throw MetainfoError(
                    .fileParseFailed, "the file tree has an empty name or a node that is not a dictionary")
            }
            walk.path.removeSubrange(base...)
            if base > 0 { walk.path.append(UInt8(ascii: "/")) }
            if PathSanitizer.isSafeAsGiven(entry.key) {
                walk.path += entry.key
            } else {
                walk.keysAsGiven = false
                walk.path += PathSanitizer.sanitizeElement(entry.key).utf8
            }
            guard walk.prefixBytes + walk.path.count <= limits.maxPathBytes else { throw pathTooLong("a file path") }
            if let leaf = Self.leaf(of: entry.value) {
                try checkFileCount(walk.realFiles + 1)
                try appendTreeFile(leaf, &walk)
            } else {
                try self.walk(entry.value, elements: elements + 1, depth: depth + 1, &walk)
            }
        }
        walk.path.removeSubrange(base...)
    }

    /// One v2 file (length, attributes, symlink target, and `pieces root` for a non-empty file) at the
    /// walk's path and offset, and the pad file after it.
    private func appendTreeFile(_ node: BencodeNode, _ walk: inout TreeWalk) throws {
        guard node.isDictionary else {
            throw MetainfoError(.fileParseFailed, "a file of the file tree is not a dictionary")
        }
        let attributes = Self.attributes(node)
        guard !attributes.contains(.pad) else {
            throw MetainfoError(.invalidPadFile, "a v2 file tree may not hold pad files")
        }
        let length = try fileLength(node, attributes: attributes)
        let (kept, target) = try symlink(of: node, attributes: attributes, symlinkPrefix: walk.symlinkPrefix)
        walk.files.append(
            relativePath: walk.path, inFolder: walk.isMultiFile, length: length, attributes: kept,
            symlinkTarget: target)
        walk.realFiles += 1
        let index = walk.files.count - 1
        walk.files.setOffset(walk.offset, at: index)
        if !kept.contains(.symlink), length > 0 {
            guard let root = node["pieces root"]?.bytes, root.count == 32, root.contains(where: { $0 != 0 }) else {
                throw MetainfoError(
                    .missingPiecesRoot, "the file \(walk.files[index].displayPath) has no valid pieces root")
            }
            walk.files.setPiecesRoot(root, of: walk.source, at: index)
        }
        walk.offset = try FileLayout.add(walk.offset, length)
        guard walk.isMultiFile, length > 0 else { return }
        let padLength = try FileLayout.alignUp(walk.offset, Int(walk.pieceLength)) - walk.offset
        guard padLength > 0 else { return }
        walk.files.appendPad(length: padLength, at: walk.offset)
        walk.offset += padLength
    }

    /// Appends the sanitized `elements` to `path`, joined with `/` as they are sanitized (no array of
    /// elements), with the limits of ``boundedPath(_:_:what:dropDots:)`` counted with the folder of
    /// `folderBytes` bytes in front; returns whether an element carries ``legacyPadMarker``.
    private func appendPath(_ list: BencodeNode, to path: inout [UInt8], folderBytes: Int) throws -> Bool {
        guard 1 + list.count <= limits.maxPathDepth else { throw pathTooDeep("a file path") }
        var hasMarker = false
        for element in list.items {
            guard let raw = element.bytes else {
                throw MetainfoError(.invalidName, "a file path holds something other than strings")
            }
            let separator = path.isEmpty ? 0 : 1
            if PathSanitizer.isSafeAsGiven(raw) {
                // Most elements: copied as they are, no string made.
                guard folderBytes + 1 + path.count + separator + raw.count <= limits.maxPathBytes else {
                    throw pathTooLong("a file path")
                }
                // ASCII: a byte match is a match (no canonical equivalence to confirm).
                if !hasMarker, Self.containsLegacyPadMarker(raw) { hasMarker = true }
                if separator > 0 { path.append(UInt8(ascii: "/")) }
                path += raw
                continue
            }
            let sanitized = PathSanitizer.sanitizeElement(raw)
            guard folderBytes + 1 + path.count + separator + sanitized.utf8.count <= limits.maxPathBytes else {
                throw pathTooLong("a file path")
            }
            if !hasMarker, Self.hasLegacyPadMarker(sanitized) { hasMarker = true }
            if separator > 0 { path.append(UInt8(ascii: "/")) }
            path += sanitized.utf8
        }
        return hasMarker
    }

    /// `prefix` followed by the sanitized `elements`; refused, before any work, when that makes more
    /// than ``MetainfoLimits/maxPathDepth`` elements, and as soon as it is longer than
    /// ``MetainfoLimits/maxPathBytes`` bytes joined with `/`. `.` and `..` are dropped when
    /// `dropDots` (symlink targets).
    private func boundedPath(
        _ prefix: [String], _ list: BencodeNode, what: String, dropDots: Bool = false
    ) throws -> [String] {
        let count = list.count
        guard prefix.count + count <= limits.maxPathDepth else { throw pathTooDeep(what) }
        var path = prefix
        path.reserveCapacity(prefix.count + count)
        var bytes = prefix.reduce(0) { $0 + $1.utf8.count + 1 }
        for element in list.items {
            guard let raw = element.bytes else {
                throw MetainfoError(.invalidName, "\(what) holds something other than strings")
            }
            if dropDots, raw.elementsEqual(".".utf8) || raw.elementsEqual("..".utf8) { continue }
            let sanitized = PathSanitizer.sanitizeElement(raw)
            bytes += sanitized.utf8.count + 1
            guard bytes - 1 <= limits.maxPathBytes else { throw pathTooLong(what) }
            path.append(sanitized)
        }
        return path
    }

    private func checkFileCount(_ count: Int) throws {
        guard count <= limits.maxFiles else {
            throw MetainfoError(.tooManyFiles, "the torrent has more than \(limits.maxFiles) files")
        }
    }

    private func pathTooDeep(_ what: String) -> MetainfoError {
        MetainfoError(.pathTooDeep, "\(what) in the torrent has more than \(limits.maxPathDepth) elements")
    }

    private func pathTooLong(_ what: String) -> MetainfoError {
        MetainfoError(.pathTooLong, "\(what) in the torrent is longer than \(limits.maxPathBytes) bytes")
    }

    /// The file dictionary of a tree node that is a file (`{"": {...}}`), or `nil` for a directory.
    private static func leaf(of node: BencodeNode) -> BencodeNode? {
        guard node.isDictionary, node.count == 1 else { return nil }
        return node[""]
    }

    /// The BEP 47 `attr` string: `p` pad, `x` executable, `h` hidden, `l` symlink.
    static func attributes(_ node: BencodeNode) -> TorrentFile.Attributes {
        var attributes: TorrentFile.Attributes = []
        for byte in node["attr"]?.bytes ?? [] {
            switch byte {
            case UInt8(ascii: "p"): attributes.insert(.pad)
            case UInt8(ascii: "x"): attributes.insert(.executable)
            case UInt8(ascii: "h"): attributes.insert(.hidden)
            case UInt8(ascii: "l"): attributes.insert(.symlink)
            default: break
            }
        }
        return attributes
    }

    /// `length`: zero for a symlink (BEP 47: symlinks take no space), else required, non-negative
    /// and within the limit.
    private func fileLength(_ node: BencodeNode, attributes: TorrentFile.Attributes) throws -> Int64 {
        if attributes.contains(.symlink) { return 0 }
        guard let length = node["length"]?.integer, length >= 0, length <= limits.maxFileLength else {
            throw MetainfoError(.invalidLength, "a file length is missing, negative or larger than 16 TiB")
        }
        return length
    }

    /// The attributes to keep and the symlink target of a file: a symlink without a usable `symlink
    /// path` is kept as an ordinary empty file, as the reference client does.
    private func symlink(
        of node: BencodeNode, attributes: TorrentFile.Attributes, symlinkPrefix: [String]
    ) throws -> (attributes: TorrentFile.Attributes, target: [String]?) {
        var attributes = attributes
        if attributes.contains(.pad), attributes.contains(.symlink) {
            throw MetainfoError(.invalidPadFile, "a file is marked both as pad file and as symlink")
        }
        var target: [String]?
        if attributes.contains(.symlink) {
            target = try symlinkTarget(node, prefix: symlinkPrefix)
            if target == nil { attributes.remove(.symlink) }
        }
        return (attributes, target)
    }

    /// `symlink path`, sanitized element by element below the torrent's root; `.` and `..` are
    /// dropped (a link can never point above the root). `nil` when absent or empty.
    private func symlinkTarget(_ node: BencodeNode, prefix: [String]) throws -> [String]? {
        guard let list = Self.listNode(node["symlink path"]) else { return nil }
        let target = try boundedPath(prefix, list, what: "a symlink path", dropDots: true)
        return target.count == prefix.count ? nil : target
    }
}
