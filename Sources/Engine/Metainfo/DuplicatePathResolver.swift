/// Renames files whose sanitized paths collide, deterministically, the way the reference client does.
///
/// Sanitizing can make two different paths equal (`/` and `\` both become `_`), and a torrent can
/// simply list the same path twice. Directories are reserved first, so a file never takes the name
/// of a folder another file needs; then files are visited in torrent order and the first one keeps
/// its path while later ones get `.1`, `.2`, ... inserted before their extension
/// (`foo/bar.txt` -> `foo/bar.1.txt`). Pad files are never written to disk and are left alone.
///
/// Paths are compared exactly (byte for byte): btq targets Linux file systems, where `Foo` and `foo`
/// are different files. (The reference client compares case-insensitively.)
///
/// The work is linear in the total number of path elements: paths are entered into a tree of
/// ``PathTree`` nodes one element at a time, never as joined prefixes (which would cost the square
/// of a path's depth), and the names are read in place from the files' shared path buffer.
enum DuplicatePathResolver {
    /// Renames colliding files in place.
    ///
    /// - Throws: ``MetainfoError/Category/tooManyDuplicateFilenames`` when more than `maxRenames`
    ///   files need a new name (a hostile torrent, not a real one).
    static func resolve(_ files: inout TorrentFiles, maxRenames: Int) throws {
        // Found first and applied once the tree, which reads the shared path buffer, is gone: renaming
        // while it lived would copy the buffer.
        for (index, candidate) in try renames(in: files, maxRenames: maxRenames) {
            var file = files[index]
            let path = file.relativePath
            file.relativePath = String(path[..<file.name.startIndex]) + candidate
            files[index] = file
        }
    }

    /// The files to rename, with their new names.
    private static func renames(in files: TorrentFiles, maxRenames: Int) throws -> [(index: Int, name: String)] {
        let text = files.pathText
        // Every file is a node, and most torrents have far fewer folders than files.
        let named = files.countWithoutPads
        var tree = PathTree(text: text, capacity: named + named / 8)
        let torrentFolder = files.folder.isEmpty ? PathTree.root : tree.folder(in: PathTree.root, named: files.folder)
        // The folder of each file, as a node of the tree (every folder is reserved before any file).
        var folders = [UInt32](repeating: UInt32(PathTree.root), count: files.count)
        for index in files.indices where !files.isPad(at: index) {
            let (path, inFolder) = files.pathBytes(at: index)
            var node = inFolder ? torrentFolder : PathTree.root
            var start = path.startIndex
            while let slash = path[start...].firstIndex(of: UInt8(ascii: "/")) {
                node = tree.folder(in: node, named: start..<slash)
                start = slash + 1
            }
            folders[index] = UInt32(node)
        }
        var renamed: [(index: Int, name: String)] = []
        for index in files.indices where !files.isPad(at: index) {
            let folder = Int(folders[index])
            let path = files.pathBytes(at: index).bytes
            let nameStart = path.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? path.startIndex
            if tree.claimFile(in: folder, named: nameStart..<path.endIndex) { continue }
            guard renamed.count < maxRenames else {
                throw MetainfoError(
                    .tooManyDuplicateFilenames,
                    "more than \(maxRenames) files have the same path as another file or folder")
            }
            let name = String(decoding: path[nameStart...], as: UTF8.self)
            var number = 1
            while true {
                let candidate = PathSanitizer.renamed(name, number: number)
                if tree.claimFile(in: folder, named: candidate) {
                    renamed.append((index, candidate))
                    break
                }
                number += 1
            }
        }
        return renamed
    }
}
