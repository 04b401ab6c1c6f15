import Glibc

extension FileStorage {
    /// True when every component is a plain name: not empty, not `.` or `..`, no `/` and no NUL.
    static func isSafe(_ components: [String]) -> Bool {
        !components.isEmpty
            && components.allSatisfy { component in
                !component.isEmpty && component != "." && component != ".."
                    && !component.utf8.contains(UInt8(ascii: "/")) && !component.utf8.contains(0)
            }
    }

    /// `path` made absolute against the current directory, without a trailing slash.
    static func absolute(_ path: String) -> String {
        var result = path
        if !result.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let cwd = getcwd(&buffer, buffer.count).map { String(cString: $0) } ?? "."
            result = cwd + "/" + result
        }
        while result.count > 1 && result.hasSuffix("/") { result.removeLast() }
        return result
    }

    /// The checked absolute path of `file`.
    func checkedPath(_ file: FileIndex, operation: StorageError.Operation) throws -> String {
        guard let path = paths[file.value] else {
            throw StorageError(reason: .outsideSaveFolder, operation: operation, path: displayPath(file))
        }
        return path
    }

    /// Opens `file` for the descriptor cache, beneath the download folder. A read tries read-write first so
    /// the descriptor can be reused for writing, and falls back to read-only for files we may not write
    /// (seeding from a read-only copy).
    func openFile(_ file: FileIndex, writable: Bool) throws -> Int32 {
        _ = try checkedPath(file, operation: .open)
        let components = files[file.value].path
        do {
            return try folder.openFile(components, flags: O_RDWR, operation: .open)
        } catch let error as StorageError where !writable && [EACCES, EPERM, EROFS].contains(error.errno ?? 0) {
            return try folder.openFile(components, flags: O_RDONLY, operation: .open)
        }
    }

    // MARK: - prepare

    func prepareSync() throws {
        guard !cache.closed else { throw StorageError(reason: .closed, operation: .createFile, path: saveFolder) }
        // The download folder itself is the user's choice: it may be a symlink.
        try makeFolder(saveFolder)
        var made = Set<[String]>()  // each folder once, not once per file in it
        for (index, file) in files.enumerated() where !file.isPad {
            _ = try checkedPath(FileIndex(index), operation: .createFile)
            try folder.makeFolders(Array(file.path.dropLast()), made: &made)
            if file.attributes.contains(.symlink) {
                try makeSymlink(link: file.path, target: file.symlinkTarget)
            } else {
                try createFile(file.path, length: file.length)
            }
        }
    }

    /// Creates one folder; an existing folder is fine, anything else in its place is an error.
    private func makeFolder(_ path: String) throws {
        if mkdir(path, 0o755) != 0 {
            let code = errno
            guard code == EEXIST else { throw StorageError(errno: code, operation: .createFolder, path: path) }
            var info = stat()
            guard stat(path, &info) == 0 else { throw StorageError(errno: errno, operation: .createFolder, path: path) }
            guard POSIXFile.isDirectory(info.st_mode) else {
                throw StorageError(errno: ENOTDIR, operation: .createFolder, path: path)
            }
        }
    }

    /// Creates (or keeps) a regular file and sets its length, sparse when it grows.
    private func createFile(_ components: [String], length: Int64) throws {
        let descriptor = try folder.openFile(components, flags: O_RDWR | O_CREAT, operation: .createFile)
        defer { Glibc.close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw StorageError(errno: errno, operation: .createFile, path: folder.displayPath(components))
        }
        if Int64(info.st_size) != length && ftruncate(descriptor, off_t(length)) != 0 {
            throw StorageError(errno: errno, operation: .truncate, path: folder.displayPath(components))
        }
    }

    /// Creates a relative symlink when the target is a safe path inside the download folder and the link
    /// resolves inside it; skips it otherwise, and keeps whatever already exists at the link's place.
    private func makeSymlink(link: [String], target: [String]?) throws {
        guard let target, Self.isSafe(target), target != link else { return }
        let parent = Array(link.dropLast())
        var common = 0
        while common < parent.count && common < target.count && parent[common] == target[common] { common += 1 }
        let relative = (Array(repeating: "..", count: parent.count - common) + target[common...])
            .joined(separator: "/")
        _ = try folder.makeSymlink(at: link, target: relative)
    }
}
