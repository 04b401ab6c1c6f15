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

    /// Throws unless the folder at `path` (which exists) resolves inside the download folder.
    func ensureInside(folder path: String, operation: StorageError.Operation) throws {
        guard let root = POSIXFile.realPath(saveFolder) else {
            throw StorageError(errno: ENOENT, operation: operation, path: saveFolder)
        }
        guard let real = POSIXFile.realPath(path) else {
            throw StorageError(errno: errno, operation: operation, path: path)
        }
        guard real == root || real.hasPrefix(root == "/" ? "/" : root + "/") else {
            throw StorageError(reason: .outsideSaveFolder, operation: operation, path: path)
        }
    }

    /// The checked absolute path of `file`.
    func checkedPath(_ file: FileIndex, operation: StorageError.Operation) throws -> String {
        guard let path = paths[file.value] else {
            throw StorageError(reason: .outsideSaveFolder, operation: operation, path: displayPath(file))
        }
        return path
    }

    /// Opens `file` for the descriptor cache. A read tries read-write first so the descriptor can be
    /// reused for writing, and falls back to read-only for files we may not write (seeding from a
    /// read-only copy).
    func openFile(_ file: FileIndex, writable: Bool) throws -> Int32 {
        let path = try checkedPath(file, operation: .open)
        try ensureInside(folder: Self.parent(of: path), operation: .open)
        var descriptor = POSIXFile.open(path, O_RDWR | O_NOFOLLOW)
        if descriptor < 0 && !writable && [EACCES, EPERM, EROFS].contains(-descriptor) {
            descriptor = POSIXFile.open(path, O_RDONLY | O_NOFOLLOW)
        }
        guard descriptor >= 0 else {
            if -descriptor == ELOOP { throw StorageError(reason: .outsideSaveFolder, operation: .open, path: path) }
            throw StorageError(errno: -descriptor, operation: .open, path: path)
        }
        return descriptor
    }

    /// The folder part of an absolute path.
    static func parent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    // MARK: - prepare

    func prepareSync() throws {
        guard !cache.closed else { throw StorageError(reason: .closed, operation: .createFile, path: saveFolder) }
        try makeFolder(saveFolder, checkInside: false)
        for (index, file) in files.enumerated() where !file.isPad {
            let path = try checkedPath(FileIndex(index), operation: .createFile)
            try makeFolders(for: file.path)
            if file.attributes.contains(.symlink) {
                try makeSymlink(at: path, link: file.path, target: file.symlinkTarget)
            } else {
                try createFile(at: path, length: file.length)
            }
        }
    }

    /// Creates one folder; an existing folder is fine, anything else in its place is an error.
    private func makeFolder(_ path: String, checkInside: Bool) throws {
        if mkdir(path, 0o755) != 0 {
            let code = errno
            guard code == EEXIST else { throw StorageError(errno: code, operation: .createFolder, path: path) }
            guard let mode = POSIXFile.linkMode(path) else {
                throw StorageError(errno: errno, operation: .createFolder, path: path)
            }
            if POSIXFile.isSymlink(mode) {
                if checkInside { try ensureInside(folder: path, operation: .createFolder) }
            } else if !POSIXFile.isDirectory(mode) {
                throw StorageError(errno: ENOTDIR, operation: .createFolder, path: path)
            }
        }
    }

    /// Creates the folders above a file, component by component, each checked to stay inside.
    private func makeFolders(for components: [String]) throws {
        var path = saveFolder
        for component in components.dropLast() {
            path += "/" + component
            try makeFolder(path, checkInside: true)
        }
    }

    /// Creates (or keeps) a regular file and sets its length, sparse when it grows.
    private func createFile(at path: String, length: Int64) throws {
        try ensureInside(folder: Self.parent(of: path), operation: .createFile)
        let descriptor = POSIXFile.open(path, O_RDWR | O_CREAT | O_NOFOLLOW)
        guard descriptor >= 0 else {
            if -descriptor == ELOOP {
                throw StorageError(reason: .outsideSaveFolder, operation: .createFile, path: path)
            }
            throw StorageError(errno: -descriptor, operation: .createFile, path: path)
        }
        defer { Glibc.close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw StorageError(errno: errno, operation: .createFile, path: path)
        }
        if Int64(info.st_size) != length && ftruncate(descriptor, off_t(length)) != 0 {
            throw StorageError(errno: errno, operation: .truncate, path: path)
        }
    }

    /// Creates a relative symlink when the target is a safe path inside the download folder; skips it
    /// otherwise, and keeps whatever already exists at the link's place.
    private func makeSymlink(at path: String, link: [String], target: [String]?) throws {
        guard let target, Self.isSafe(target), target != link else { return }
        let folder = Array(link.dropLast())
        var common = 0
        while common < folder.count && common < target.count && folder[common] == target[common] { common += 1 }
        let relative = (Array(repeating: "..", count: folder.count - common) + target[common...])
            .joined(separator: "/")
        try ensureInside(folder: Self.parent(of: path), operation: .createLink)
        if symlink(relative, path) != 0 {
            let code = errno
            guard code == EEXIST else { throw StorageError(errno: code, operation: .createLink, path: path) }
        }
    }
}
