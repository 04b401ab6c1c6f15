/// The files of a torrent in stream order, stored compactly: one 32-byte entry per file and every
/// path in one shared buffer, with the torrent's folder stored once.
///
/// A torrent may list 250,000 files. As an array of ``TorrentFile`` values each file cost a 56-byte
/// value and a string of its own (a 32-byte header and its bytes, rounded up by the allocator) that
/// repeated the folder's name; here it costs its entry and the bytes of its path below the folder,
/// so the memory of a parsed torrent stays near the size of its file list in the `.torrent`.
///
/// Reading an element builds a ``TorrentFile`` (its path is then a `String` of its own); the
/// accessors ``length(at:)``, ``offset(at:)``, ``attributes(at:)`` and ``pathBytes(at:)`` read one
/// field without building anything, for loops over every file.
public struct TorrentFiles: RandomAccessCollection, Sendable {
    /// One file. Its path below ``folder`` (or whole, when not `inFolder`) is `text[start..<start +
    /// pathLength]`, followed by its symlink target's elements joined with `/` (`targetLength` bytes).
    struct Entry: Sendable {
        var length: Int64
        var offset: Int64
        var start: UInt32
        var pathLength: UInt16
        var targetLength: UInt16
        /// Where the file's `pieces root` is: at `32 * root` in `roots` when 0 or more, none when -1,
        /// at offset `-(root + 2)` in `source` when less.
        var root: Int32
        var attributes: TorrentFile.Attributes
        var inFolder: Bool
        /// True when the symlink target is an empty list (kept apart from "no target").
        var hasTarget: Bool
    }

    /// The folder every path of an `inFolder` entry starts with (followed by `/`), or empty.
    public let folder: String
    private var entries: [Entry] = []
    private var text: [UInt8] = []
    private var roots: [UInt8] = []
    /// The parsed `.torrent`, whose `pieces root` strings are read in place rather than copied (the
    /// metainfo keeps it anyway); empty when none is.
    private var source: [UInt8] = []

    /// No files; paths that start with `folder` and `/` are stored once without it.
    public init(folder: String = "") {
        self.folder = folder
    }

    /// The files of `files`, in order; paths that start with `folder` and `/` are stored without it.
    public init(_ files: some Sequence<TorrentFile>, folder: String = "") {
        self.init(folder: folder)
        for file in files { append(file) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { entries.count }

    /// Room for `count` files, `textBytes` bytes of paths and `piecesRoots` pieces roots before the
    /// storage grows.
    public mutating func reserveCapacity(files count: Int, textBytes: Int, piecesRoots: Int = 0) {
        entries.reserveCapacity(count)
        text.reserveCapacity(textBytes)
        roots.reserveCapacity(32 * piecesRoots)
    }

    /// File `position`, built from its entry.
    public subscript(position: Int) -> TorrentFile {
        get {
            let entry = entries[position]
            var target: [String]?
            if entry.hasTarget {
                let start = Int(entry.start) + Int(entry.pathLength)
                let joined = text[start..<start + Int(entry.targetLength)]
                target =
                    joined.isEmpty
                    ? [] : joined.split(separator: UInt8(ascii: "/")).map { String(decoding: $0, as: UTF8.self) }
            }
            let root = piecesRoot(of: entry).map(Array.init)
            return TorrentFile(
                relativePath: relativePath(of: entry), length: entry.length, offset: entry.offset,
                attributes: entry.attributes, symlinkTarget: target, piecesRoot: root)
        }
        set { replace(position, with: newValue) }
    }

    /// The length of file `position`.
    public func length(at position: Int) -> Int64 { entries[position].length }
    /// The offset of file `position` in the torrent's byte stream.
    public func offset(at position: Int) -> Int64 { entries[position].offset }
    /// The BEP 47 attributes of file `position`.
    public func attributes(at position: Int) -> TorrentFile.Attributes { entries[position].attributes }
    /// True when file `position` is a pad file.
    public func isPad(at position: Int) -> Bool { entries[position].attributes.contains(.pad) }

    /// The number of files that are not pad files (counted without building any file).
    public var countWithoutPads: Int { entries.count { !$0.attributes.contains(.pad) } }

    /// Sets the offset of file `position`.
    public mutating func setOffset(_ offset: Int64, at position: Int) { entries[position].offset = offset }

    /// Sets the `pieces root` of file `position` to `root`, 32 bytes of `source` (the parsed `.torrent`,
    /// the same for every file), which is then shared rather than copied.
    mutating func setPiecesRoot(_ root: ArraySlice<UInt8>, of source: [UInt8], at position: Int) {
        if self.source.isEmpty { self.source = source }
        let shared = self.source.withUnsafeBufferPointer { mine in
            source.withUnsafeBufferPointer { theirs in
                mine.baseAddress == theirs.baseAddress && mine.count == theirs.count
            }
        }
        guard shared, root.count == 32, root.startIndex >= 0, root.endIndex <= source.count,
            root.startIndex < Int(Int32.max) - 2
        else {
            setPiecesRoot(Array(root), at: position)
            return
        }
        entries[position].root = -Int32(root.startIndex) - 2
    }

    /// Sets the `pieces root` of file `position` to that of file `other` of `files`, shared when both
    /// read roots from the same `.torrent`.
    mutating func setPiecesRoot(from files: TorrentFiles, at other: Int, to position: Int) {
        let root = files.entries[other].root
        if root < -1, !files.source.isEmpty {
            setPiecesRoot(files.source[Int(-(root + 2))..<Int(-(root + 2)) + 32], of: files.source, at: position)
        } else {
            setPiecesRoot(files.piecesRoot(of: files.entries[other]).map(Array.init), at: position)
        }
    }

    private func piecesRoot(of entry: Entry) -> ArraySlice<UInt8>? {
        if entry.root >= 0 { return roots[Int(entry.root) * 32..<Int(entry.root) * 32 + 32] }
        guard entry.root < -1 else { return nil }
        let start = Int(-(entry.root + 2))
        return source[start..<start + 32]
    }

    /// Sets the `pieces root` of file `position` (32 bytes, or `nil` for none).
    public mutating func setPiecesRoot(_ root: [UInt8]?, at position: Int) {
        guard let root, root.count == 32 else {
            entries[position].root = -1
            return
        }
        entries[position].root = Int32(roots.count / 32)
        roots += root
    }

    /// The bytes of file `position`'s path below ``folder`` (the whole path when it is not in it),
    /// and whether it is in the folder. A slice of the shared buffer: nothing is copied.
    func pathBytes(at position: Int) -> (bytes: ArraySlice<UInt8>, inFolder: Bool) {
        let entry = entries[position]
        return (text[Int(entry.start)..<Int(entry.start) + Int(entry.pathLength)], entry.inFolder)
    }

    /// The shared buffer the slices of ``pathBytes(at:)`` belong to.
    var pathText: [UInt8] { text }

    /// Adds a file.
    public mutating func append(_ file: TorrentFile) {
        let path = file.relativePath.utf8
        let relative: Substring.UTF8View
        let inFolder: Bool
        if !folder.isEmpty, path.count > folder.utf8.count, path.starts(with: folder.utf8),
            path[path.index(path.startIndex, offsetBy: folder.utf8.count)] == UInt8(ascii: "/")
        {
            relative = Substring(file.relativePath).utf8.dropFirst(folder.utf8.count + 1)
            inFolder = true
        } else {
            relative = Substring(file.relativePath).utf8
            inFolder = false
        }
        append(
            relativePath: relative, inFolder: inFolder, length: file.length, attributes: file.attributes,
            symlinkTarget: file.symlinkTarget)
        entries[entries.count - 1].offset = file.offset
        setPiecesRoot(file.piecesRoot, at: entries.count - 1)
    }

    /// Adds a file whose path below ``folder`` (or whole path, when not `inFolder`) is `relativePath`,
    /// at offset 0 and with no `pieces root`.
    public mutating func append(
        relativePath: some Collection<UInt8>, inFolder: Bool, length: Int64, attributes: TorrentFile.Attributes,
        symlinkTarget: [String]?
    ) {
        let start = text.count
        text.append(contentsOf: relativePath)
        let pathLength = text.count - start
        if let symlinkTarget {
            for (index, element) in symlinkTarget.enumerated() {
                if index > 0 { text.append(UInt8(ascii: "/")) }
                text.append(contentsOf: element.utf8)
            }
        }
        // Paths and targets are at most `MetainfoLimits.maxPathBytes` (4,096) bytes, and every path
        // of a torrent together far below 4 GiB.
        precondition(text.count <= Int(UInt32.max) && pathLength <= Int(UInt16.max), "a path too long to store")
        entries.append(
            Entry(
                length: length, offset: 0, start: UInt32(start), pathLength: UInt16(pathLength),
                targetLength: UInt16(clamping: text.count - start - pathLength), root: -1, attributes: attributes,
                inFolder: inFolder, hasTarget: symlinkTarget != nil))
    }

    /// Adds a pad file of `length` bytes at `offset`, named `.pad/<length>` in ``folder``: its name is
    /// not stored (a v2 torrent has one after almost every file).
    public mutating func appendPad(length: Int64, at offset: Int64) {
        precondition(text.count <= Int(UInt32.max), "paths too long to store")
        entries.append(
            Entry(
                length: length, offset: offset, start: UInt32(text.count), pathLength: 0, targetLength: 0, root: -1,
                attributes: .pad, inFolder: true, hasTarget: false))
    }

    /// Replaces file `position` with `file`. Its path and target are stored again at the end of the
    /// shared buffer (the old bytes stay unused: renames are few).
    private mutating func replace(_ position: Int, with file: TorrentFile) {
        var copy = TorrentFiles(folder: folder)
        copy.append(file)
        var entry = copy.entries[0]
        entry.offset = file.offset
        entry.start = UInt32(text.count)
        text += copy.text
        entries[position] = entry
        setPiecesRoot(file.piecesRoot, at: position)
    }

    private func relativePath(of entry: Entry) -> String {
        if entry.pathLength == 0, entry.attributes.contains(.pad) {
            // A pad file added by `appendPad`.
            return folder.isEmpty ? ".pad/\(entry.length)" : "\(folder)/.pad/\(entry.length)"
        }
        let bytes = text[Int(entry.start)..<Int(entry.start) + Int(entry.pathLength)]
        guard entry.inFolder else { return String(decoding: bytes, as: UTF8.self) }
        var path = folder
        path.reserveCapacity(folder.utf8.count + 1 + bytes.count)
        path += "/"
        path += String(decoding: bytes, as: UTF8.self)
        return path
    }
}

extension TorrentFiles: Equatable {
    /// The same files in the same order, however they are stored.
    public static func == (lhs: TorrentFiles, rhs: TorrentFiles) -> Bool {
        lhs.elementsEqual(rhs)
    }
}

extension TorrentFiles: ExpressibleByArrayLiteral {
    /// The files listed, with no folder stored apart.
    public init(arrayLiteral files: TorrentFile...) {
        self.init(files)
    }
}
