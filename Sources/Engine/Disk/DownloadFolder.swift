import Glibc

/// A download folder whose paths are resolved beneath it: nothing a torrent names can lead outside,
/// not through `..`, an absolute or relative symlink, nor a folder another torrent (or anyone) made a
/// link.
///
/// Each operation opens the folder, then resolves the torrent's path relative to that descriptor with
/// `openat2(RESOLVE_BENEATH)` (Linux 5.6+): a path that would leave the folder fails with `EXDEV`.
/// Where `openat2` is missing (an older kernel, or a sandbox that forbids it), the path is walked
/// component by component with `O_NOFOLLOW | O_DIRECTORY`, which refuses every symlink on the way. Folders
/// are created with `mkdirat` in a parent resolved that way, files are accepted only when `fstat` says
/// they are regular (a FIFO, a device or a folder in a file's place is refused, and is never read from,
/// since it is opened with `O_NONBLOCK`), and a removal unlinks a name in its resolved parent: a link
/// is removed, never what it points to. The folder itself may be a symlink: the user chose it.
///
/// Opening is not on the per-block path: ``FileStorage`` caches the descriptors it gets here.
public struct DownloadFolder: Sendable, Hashable {
    /// The folder, as given.
    public let path: String

    /// `O_PATH` on Linux (not exported by the Glibc module): a descriptor that only names a file.
    static let openPath: Int32 = 0o10_000_000

    /// A folder at `path` (relative paths are taken from the current directory).
    public init(path: String) { self.path = path }

    /// Deletes the file (or symlink) the torrent names at `components`: the name is unlinked in its
    /// parent folder, resolved beneath this folder with no symlink on the way. A folder in its place is
    /// refused, never emptied. A missing file is not an error.
    ///
    /// - Returns: whether something was deleted.
    /// - Throws: ``StorageError`` naming the file.
    @discardableResult
    public func removeFile(_ components: [String]) throws -> Bool {
        let display = displayPath(components)
        guard FileStorage.isSafe(components) else {
            throw StorageError(reason: .outsideSaveFolder, operation: .remove, path: display)
        }
        return try withParent(of: components, operation: .remove, noSymlinks: true) { parent, name in
            if unlinkat(parent, name, 0) == 0 { return true }
            let code = errno
            if code == ENOENT { return false }
            if code == EISDIR || code == EPERM {
                var info = stat()
                if fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFDIR {
                    throw StorageError(reason: .notRegularFile, operation: .remove, path: display)
                }
            }
            throw StorageError(errno: code, operation: .remove, path: display)
        }
    }

    /// Removes the folder at `components` when it is empty (resolved like ``removeFile(_:)``); returns
    /// whether it did.
    @discardableResult
    public func removeFolderIfEmpty(_ components: [String]) -> Bool {
        guard FileStorage.isSafe(components) else { return false }
        let removed = try? withParent(of: components, operation: .remove, noSymlinks: true) { parent, name in
            unlinkat(parent, name, AT_REMOVEDIR) == 0
        }
        return removed ?? false
    }

    /// `path/components` for messages.
    func displayPath(_ components: [String]) -> String {
        components.isEmpty ? path : path + "/" + components.joined(separator: "/")
    }

    // MARK: - Opening

    /// Opens the regular file at `components` with `flags` (`O_CREAT` creates it with `mode`); a symlink,
    /// FIFO, device or folder there is refused.
    ///
    /// - Throws: ``StorageError`` for `operation`, naming the file: ``StorageError/Reason/outsideSaveFolder``
    ///   when the path leads outside, ``StorageError/Reason/notRegularFile`` when something else is there.
    func openFile(
        _ components: [String], flags: Int32, mode: mode_t = 0o644, operation: StorageError.Operation
    )
        throws -> Int32
    {
        let display = displayPath(components)
        let descriptor = try withRoot(operation: operation, display: display) { root in
            Self.resolve(
                root: root, components, flags: flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode: mode,
                noSymlinks: false)
        }
        guard descriptor >= 0 else { throw Self.error(-descriptor, operation, display) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw StorageError(errno: code, operation: operation, path: display)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(descriptor)
            throw StorageError(reason: .notRegularFile, operation: operation, path: display)
        }
        // Blocking I/O for the regular file from now on (O_NONBLOCK only kept a FIFO from blocking the open).
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        return descriptor
    }

    /// The status of what is at `components`, not following a final symlink; `nil` when nothing is there
    /// or the path leads outside.
    func status(_ components: [String]) -> stat? {
        guard FileStorage.isSafe(components) else { return nil }
        let descriptor =
            (try? withRoot(operation: .check, display: path) { root in
                Self.resolve(
                    root: root, components, flags: Self.openPath | O_NOFOLLOW | O_CLOEXEC, mode: 0, noSymlinks: false)
            }) ?? -ENOENT
        guard descriptor >= 0 else { return nil }
        defer { Glibc.close(descriptor) }
        var info = stat()
        return fstat(descriptor, &info) == 0 ? info : nil
    }

    /// Creates the folders `components` (each inside the one before); existing folders are kept, and
    /// anything else in the way is an error. Folders in `made` are taken as done, and each one made or
    /// checked here is added to it.
    func makeFolders(_ components: [String], made: inout Set<[String]>) throws {
        for depth in components.indices {
            let prefix = Array(components[...depth])
            guard !made.contains(prefix) else { continue }
            try withParent(of: prefix, operation: .createFolder, noSymlinks: false) { parent, name in
                if mkdirat(parent, name, 0o755) != 0, errno != EEXIST {
                    throw StorageError(errno: errno, operation: .createFolder, path: displayPath(prefix))
                }
            }
            // It must be a folder inside: open it as one, beneath the download folder.
            let display = displayPath(prefix)
            let descriptor = try withRoot(operation: .createFolder, display: display) { root in
                Self.resolve(
                    root: root, prefix, flags: Self.openPath | O_DIRECTORY | O_CLOEXEC, mode: 0, noSymlinks: false)
            }
            guard descriptor >= 0 else { throw Self.error(-descriptor, .createFolder, display) }
            Glibc.close(descriptor)
            made.insert(prefix)
        }
    }

    /// Creates a symlink at `components` holding `target` (relative), unless something is already there;
    /// a link that would resolve outside the folder is removed again. Returns whether the link is there.
    func makeSymlink(at components: [String], target: String) throws -> Bool {
        try withParent(of: components, operation: .createLink, noSymlinks: false) { parent, name in
            if symlinkat(target, parent, name) != 0 {
                guard errno == EEXIST else {
                    throw StorageError(errno: errno, operation: .createLink, path: displayPath(components))
                }
                return true
            }
            let check = try withRoot(operation: .createLink, display: displayPath(components)) { root in
                Self.resolve(root: root, components, flags: Self.openPath | O_CLOEXEC, mode: 0, noSymlinks: false)
            }
            if check >= 0 {
                Glibc.close(check)
            } else if check == -EXDEV || check == -ELOOP {
                unlinkat(parent, name, 0)
                return false
            }
            return true
        }
    }

    /// Runs `body` with the parent folder of `components` (resolved beneath; with no symlink at all when
    /// `noSymlinks`) and the last component's name.
    func withParent<R>(
        of components: [String], operation: StorageError.Operation, noSymlinks: Bool,
        _ body: (_ parent: Int32, _ name: String) throws -> R
    ) throws -> R {
        let display = displayPath(components)
        let folders = Array(components.dropLast())
        let parent = try withRoot(operation: operation, display: display) { root in
            Self.resolve(
                root: root, folders, flags: Self.openPath | O_DIRECTORY | O_CLOEXEC, mode: 0, noSymlinks: noSymlinks)
        }
        guard parent >= 0 else { throw Self.error(-parent, operation, display) }
        defer { Glibc.close(parent) }
        return try body(parent, components.last ?? ".")
    }

    /// Runs `body` with a descriptor of the folder itself.
    private func withRoot<R>(
        operation: StorageError.Operation, display: String, _ body: (Int32) throws -> R
    ) throws
        -> R
    {
        let root = POSIXFile.open(path, Self.openPath | O_DIRECTORY)
        guard root >= 0 else { throw StorageError(errno: -root, operation: operation, path: display) }
        defer { Glibc.close(root) }
        return try body(root)
    }

    /// The error for a failed resolution: leaving the folder (`EXDEV`, or a symlink where none may be)
    /// is ``StorageError/Reason/outsideSaveFolder``; something other than a regular file where one is
    /// expected is ``StorageError/Reason/notRegularFile``.
    static func error(_ code: Int32, _ operation: StorageError.Operation, _ display: String) -> StorageError {
        switch code {
        case EXDEV: return StorageError(reason: .outsideSaveFolder, operation: operation, path: display, errno: code)
        case ELOOP, EISDIR, ENXIO:
            // A symlink in the last component's place (O_NOFOLLOW), a folder, or a socket or device.
            return StorageError(reason: .notRegularFile, operation: operation, path: display, errno: code)
        default: return StorageError(errno: code, operation: operation, path: display)
        }
    }
}
