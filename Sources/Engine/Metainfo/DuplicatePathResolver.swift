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
enum DuplicatePathResolver {
    /// Renames colliding files in place.
    ///
    /// - Throws: ``MetainfoError/Category/tooManyDuplicateFilenames`` when more than `maxRenames`
    ///   files need a new name (a hostile torrent, not a real one).
    static func resolve(_ files: inout [TorrentFile], maxRenames: Int) throws {
        var directories = Set<String>()
        for file in files where !file.isPad {
            var prefix = ""
            for element in file.path.dropLast() {
                prefix += prefix.isEmpty ? element : "/" + element
                directories.insert(prefix)
            }
        }
        var taken = Set<String>()
        taken.reserveCapacity(files.count)
        var renames = 0
        for index in files.indices where !files[index].isPad {
            let key = files[index].path.joined(separator: "/")
            if !directories.contains(key), taken.insert(key).inserted { continue }
            renames += 1
            guard renames <= maxRenames else {
                throw MetainfoError(
                    .tooManyDuplicateFilenames,
                    "more than \(maxRenames) files have the same path as another file or folder")
            }
            var path = files[index].path
            let last = path.removeLast()
            var number = 1
            while true {
                let candidate = path + [PathSanitizer.renamed(last, number: number)]
                let candidateKey = candidate.joined(separator: "/")
                if !directories.contains(candidateKey), taken.insert(candidateKey).inserted {
                    files[index].path = candidate
                    break
                }
                number += 1
            }
        }
    }
}
