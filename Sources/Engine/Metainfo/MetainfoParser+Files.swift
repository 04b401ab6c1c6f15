/// Reading the file descriptions: the v1 `files` list (or single file) and the v2 `file tree`.
/// Paths come out sanitized; offsets are assigned later (see `MetainfoParser+Layout.swift`).
extension MetainfoParser {
    /// The marker of legacy (BitComet) pad files, which predate the `p` attribute.
    static let legacyPadMarker = "_____padding_file_"

    /// The v1 `files` list. Paths are `[folder] + sanitized path`.
    func parseFileList(_ node: BencodeNode, folder: String) throws -> [TorrentFile] {
        guard node.isList else {
            throw MetainfoError(.fileParseFailed, "the torrent's file list is not a list")
        }
        // Counted and then visited in place: no array of the (up to 250,000) entries.
        let count = node.count
        guard count > 0 else { throw MetainfoError(.noFiles, "the torrent's file list is empty") }
        try checkFileCount(count)
        var files: [TorrentFile] = []
        files.reserveCapacity(count)
        for entry in node.items {
            guard entry.isDictionary else {
                throw MetainfoError(.fileParseFailed, "an entry of the torrent's file list is not a dictionary")
            }
            var attributes = Self.attributes(entry)
            let length = try fileLength(entry, attributes: attributes)
            let path: String
            if let elements = Self.listNode(entry["path.utf-8"]) ?? Self.listNode(entry["path"]), elements.count > 0 {
                let joined = try joinedPath(folder, elements)
                path = joined.path
                if joined.hasLegacyPadMarker { attributes.insert(.pad) }
            } else if attributes.contains(.pad) {
                path = folder + "/.pad/" + String(length)
            } else {
                throw MetainfoError(.missingName, "a file in the torrent has no path")
            }
            files.append(
                try makeFile(
                    entry, relativePath: path, length: length, attributes: attributes, symlinkPrefix: [folder]))
        }
        return files
    }

    /// True when `element` contains ``legacyPadMarker``. The bytes are searched first (fast, no
    /// Foundation); only a byte match is confirmed by `String.contains`, whose comparison (canonical
    /// equivalence) this keeps.
    static func hasLegacyPadMarker(_ element: String) -> Bool {
        let marker = legacyPadMarker.utf8
        var bytes = element.utf8[...]
        guard let first = marker.first else { return false }
        while let start = bytes.firstIndex(of: first) {
            if bytes[start...].starts(with: marker) { return element.contains(legacyPadMarker) }
            bytes = bytes[bytes.index(after: start)...]
        }
        return false
    }

    /// `node` when it is a list.
    private static func listNode(_ node: BencodeNode?) -> BencodeNode? {
        node.flatMap { $0.isList ? $0 : nil }
    }

    /// One v1 file dictionary (`files` entry, or the info dictionary of a single-file torrent).
    func parseFile(_ node: BencodeNode, path: [String], symlinkPrefix: [String]) throws -> TorrentFile {
        let attributes = Self.attributes(node)
        let length = try fileLength(node, attributes: attributes)
        return try makeFile(node, path: path, length: length, attributes: attributes, symlinkPrefix: symlinkPrefix)
    }

    /// The v2 `file tree`. A tree holding one file and no v1 `files` list is a single-file torrent
    /// whose file is named by its key; otherwise paths are `[folder] + sanitized keys`.
    func parseFileTree(
        _ tree: BencodeNode, folder: String, hasFileList: Bool
    ) throws -> (files: [TorrentFile], isSingleFile: Bool) {
        guard let entries = tree.entries else {
            throw MetainfoError(.fileParseFailed, "the torrent's file tree is not a dictionary")
        }
        let isSingleFile = !hasFileList && entries.count == 1 && Self.leaf(of: entries[0].value) != nil
        let prefix = isSingleFile ? [] : [folder]
        var files: [TorrentFile] = []
        let prefixBytes = prefix.reduce(0) { $0 + $1.utf8.count + 1 }
        try walk(tree, path: prefix, pathBytes: prefixBytes, depth: 0, symlinkPrefix: prefix, into: &files)
        guard !files.isEmpty else { throw MetainfoError(.noFiles, "the torrent's file tree is empty") }
        return (files, isSingleFile)
    }

    /// Depth-first over a directory of the file tree, in key order (the order that defines the
    /// v2 piece space).
    ///
    /// `pathBytes` is the length of `path` joined with `/`, plus one (the next separator).
    private func walk(
        _ directory: BencodeNode, path: [String], pathBytes: Int, depth: Int, symlinkPrefix: [String],
        into files: inout [TorrentFile]
    ) throws {
        guard depth <= 100, let entries = directory.entries else {
            throw MetainfoError(.fileParseFailed, "the torrent's file tree is malformed or nested too deep")
        }
        guard path.count < limits.maxPathDepth else { throw pathTooDeep("a file path") }
        for entry in entries {
            guard !entry.key.isEmpty, entry.value.isDictionary else {
                throw MetainfoError(
                    .fileParseFailed, "the file tree has an empty name or a node that is not a dictionary")
            }
            let element = PathSanitizer.sanitizeElement(entry.key)
            let childBytes = pathBytes + element.utf8.count
            guard childBytes <= limits.maxPathBytes else { throw pathTooLong("a file path") }
            let childPath = path + [element]
            if let leaf = Self.leaf(of: entry.value) {
                try checkFileCount(files.count + 1)
                files.append(try parseTreeFile(leaf, path: childPath, symlinkPrefix: symlinkPrefix))
            } else {
                try walk(
                    entry.value, path: childPath, pathBytes: childBytes + 1, depth: depth + 1,
                    symlinkPrefix: symlinkPrefix, into: &files)
            }
        }
    }

    /// `folder` followed by the sanitized `elements`, joined with `/` as they are sanitized (no array of
    /// elements), with the limits of ``boundedPath(_:_:what:dropDots:)``; and whether an element (not
    /// the folder) carries ``legacyPadMarker``.
    private func joinedPath(_ folder: String, _ list: BencodeNode) throws -> (path: String, hasLegacyPadMarker: Bool) {
        guard 1 + list.count <= limits.maxPathDepth else { throw pathTooDeep("a file path") }
        var path = folder
        var hasMarker = false
        for element in list.items {
            guard let raw = element.bytes else {
                throw MetainfoError(.invalidName, "a file path holds something other than strings")
            }
            let sanitized = PathSanitizer.sanitizeElement(raw)
            guard path.utf8.count + 1 + sanitized.utf8.count <= limits.maxPathBytes else {
                throw pathTooLong("a file path")
            }
            if !hasMarker, Self.hasLegacyPadMarker(sanitized) { hasMarker = true }
            path += "/"
            path += sanitized
        }
        return (path, hasMarker)
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
        guard let entries = node.entries, entries.count == 1, entries[0].key.isEmpty else { return nil }
        return entries[0].value
    }

    /// One v2 file: length, attributes, symlink target, and `pieces root` for a non-empty file.
    private func parseTreeFile(_ node: BencodeNode, path: [String], symlinkPrefix: [String]) throws -> TorrentFile {
        guard node.isDictionary else {
            throw MetainfoError(.fileParseFailed, "a file of the file tree is not a dictionary")
        }
        let attributes = Self.attributes(node)
        guard !attributes.contains(.pad) else {
            throw MetainfoError(.invalidPadFile, "a v2 file tree may not hold pad files")
        }
        let length = try fileLength(node, attributes: attributes)
        var file = try makeFile(node, path: path, length: length, attributes: attributes, symlinkPrefix: symlinkPrefix)
        if !file.attributes.contains(.symlink), length > 0 {
            guard let root = node["pieces root"]?.bytes, root.count == 32, root.contains(where: { $0 != 0 }) else {
                throw MetainfoError(
                    .missingPiecesRoot, "the file \(path.joined(separator: "/")) has no valid pieces root")
            }
            file.piecesRoot = Array(root)
        }
        return file
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

    /// Builds the file, resolving a symlink target. A symlink without a usable `symlink path` is
    /// kept as an ordinary empty file, as the reference client does.
    private func makeFile(
        _ node: BencodeNode, path: [String], length: Int64, attributes: TorrentFile.Attributes, symlinkPrefix: [String]
    ) throws -> TorrentFile {
        try makeFile(
            node, relativePath: path.joined(separator: "/"), length: length, attributes: attributes,
            symlinkPrefix: symlinkPrefix)
    }

    private func makeFile(
        _ node: BencodeNode, relativePath: String, length: Int64, attributes: TorrentFile.Attributes,
        symlinkPrefix: [String]
    ) throws -> TorrentFile {
        var attributes = attributes
        if attributes.contains(.pad), attributes.contains(.symlink) {
            throw MetainfoError(.invalidPadFile, "a file is marked both as pad file and as symlink")
        }
        var target: [String]?
        if attributes.contains(.symlink) {
            target = try symlinkTarget(node, prefix: symlinkPrefix)
            if target == nil { attributes.remove(.symlink) }
        }
        return TorrentFile(
            relativePath: relativePath, length: length, offset: 0, attributes: attributes, symlinkTarget: target)
    }

    /// `symlink path`, sanitized element by element below the torrent's root; `.` and `..` are
    /// dropped (a link can never point above the root). `nil` when absent or empty.
    private func symlinkTarget(_ node: BencodeNode, prefix: [String]) throws -> [String]? {
        guard let list = Self.listNode(node["symlink path"]) else { return nil }
        let target = try boundedPath(prefix, list, what: "a symlink path", dropDots: true)
        return target.count == prefix.count ? nil : target
    }
}
