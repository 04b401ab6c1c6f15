import Foundation

/// The files a torrent is made of: one regular file, or every regular file below a folder, sorted
/// by path (element by element, UTF-8 bytes). See ``TorrentCreator`` for what is skipped.
struct CreatorContent {
    /// One file of the content.
    struct File {
        /// Path below the folder (just the name for a single file).
        var path: [String]
        /// Where to read it.
        var location: String
        /// Its length when scanned.
        var length: Int64
    }

    /// The last component of the source path.
    var name: String
    /// True for a folder (a multi-file torrent).
    var isFolder: Bool
    /// The files in torrent order.
    var files: [File]

    static func scan(_ path: String) throws -> CreatorContent {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let name = url.lastPathComponent
        var info = stat()
        guard stat(url.path, &info) == 0 else {
            throw TorrentCreatorError(.notFound, "\(path) does not exist or cannot be read")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            return CreatorContent(
                name: name, isFolder: false,
                files: [File(path: [name], location: url.path, length: Int64(info.st_size))])
        case S_IFDIR:
            var files: [File] = []
            try collect(folder: url.path, relative: [], into: &files)
            guard !files.isEmpty else { throw TorrentCreatorError(.noFiles, "\(path) holds no regular file") }
            files.sort { lhs, rhs in
                lhs.path.lexicographicallyPrecedes(rhs.path) { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            }
            return CreatorContent(name: name, isFolder: true, files: files)
        default:
            throw TorrentCreatorError(.notFound, "\(path) is neither a regular file nor a folder")
        }
    }

    /// Adds the regular files below `folder`, recursing into real (not symlinked) folders.
    private static func collect(folder: String, relative: [String], into files: inout [File]) throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            throw TorrentCreatorError(.readFailed, "cannot list \(folder): \(error.localizedDescription)")
        }
        for entry in names {
            let location = folder + "/" + entry
            var info = stat()
            guard lstat(location, &info) == 0 else {
                throw TorrentCreatorError(
                    .readFailed, "cannot inspect \(location): \(String(cString: strerror(errno)))")
            }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                files.append(File(path: relative + [entry], location: location, length: Int64(info.st_size)))
            case S_IFDIR:
                try collect(folder: location, relative: relative + [entry], into: &files)
            default:
                continue  // symlinks, sockets, pipes, devices
            }
        }
    }
}
