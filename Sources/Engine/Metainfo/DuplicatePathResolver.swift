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
/// of a path's depth).
enum DuplicatePathResolver {
    /// Renames colliding files in place.
    ///
    /// - Throws: ``MetainfoError/Category/tooManyDuplicateFilenames`` when more than `maxRenames`
    ///   files need a new name (a hostile torrent, not a real one).
    static func resolve(_ files: inout [TorrentFile], maxRenames: Int) throws {
        // Every file is a node, and most torrents have far fewer folders than files.
        var tree = PathTree(capacity: files.count + files.count / 8)
        // The folder of each file, as a node of the tree (every folder is reserved before any file).
        var folders = [Int](repeating: PathTree.root, count: files.count)
        for index in files.indices where !files[index].isPad {
            var node = PathTree.root
            files[index].forEachFolder { node = tree.folder(in: node, named: $0) }
            folders[index] = node
        }
        var renames = 0
        for index in files.indices where !files[index].isPad {
            let folder = folders[index]
            let name = files[index].name
            if tree.claimFile(in: folder, named: name) { continue }
            renames += 1
            guard renames <= maxRenames else {
                throw MetainfoError(
                    .tooManyDuplicateFilenames,
                    "more than \(maxRenames) files have the same path as another file or folder")
            }
            var number = 1
            while true {
                let candidate = PathSanitizer.renamed(String(name), number: number)
                if tree.claimFile(in: folder, named: candidate[...]) {
                    let path = files[index].relativePath
                    files[index].relativePath = String(path[..<name.startIndex]) + candidate
                    break
                }
                number += 1
            }
        }
    }
}
