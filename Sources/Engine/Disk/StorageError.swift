import Glibc

/// A failure of a ``PieceStorage`` backend: what went wrong, during which operation, on which file.
///
/// Storage faults are torrent faults: the session pauses the torrent and shows ``reason``, the
/// ``operation`` and the ``path``. The struct wraps private enums so cases can be added later
/// without breaking callers.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why an operation failed, classified by what the user can do about it.
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case diskFull = "disk full"
            case permissionDenied = "permission denied"
            case missingFile = "file missing"
            case outsideSaveFolder = "path outside the download folder"
            case notRegularFile = "not a regular file"
            case unexpectedEndOfFile = "file shorter than expected"
            case closed = "storage closed"
            case ioFailure = "i/o error"
        }
        fileprivate let base: Base

        /// No space left on the device, or the file would exceed the file-system limit
        /// (`ENOSPC`, `EDQUOT`, `EFBIG`).
        public static let diskFull = Reason(base: .diskFull)
        /// The file or folder may not be created, read or written (`EACCES`, `EPERM`, `EROFS`).
        public static let permissionDenied = Reason(base: .permissionDenied)
        /// A file or folder that should exist does not (`ENOENT`, `ENOTDIR`).
        public static let missingFile = Reason(base: .missingFile)
        /// A path would resolve outside the download folder; nothing was touched.
        public static let outsideSaveFolder = Reason(base: .outsideSaveFolder)
        /// Something other than a regular file (a symlink, FIFO, device or folder) is where the torrent's
        /// file should be; it was left alone.
        public static let notRegularFile = Reason(base: .notRegularFile)
        /// A read hit the end of a file before the expected length (the file was truncated).
        public static let unexpectedEndOfFile = Reason(base: .unexpectedEndOfFile)
        /// The storage was used after ``PieceStorage/close()``.
        public static let closed = Reason(base: .closed)
        /// Any other failure of the operating system.
        public static let ioFailure = Reason(base: .ioFailure)

        /// A short English phrase.
        public var description: String { base.rawValue }
    }

    /// The file-system operation that failed.
    public struct Operation: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case createFolder = "create folder"
            case createFile = "create file"
            case open
            case read
            case write
            case truncate
            case sync
            case createLink = "create link"
            case check
            case remove
        }
        fileprivate let base: Base

        /// Creating a folder of the torrent.
        public static let createFolder = Operation(base: .createFolder)
        /// Creating a file and setting its length.
        public static let createFile = Operation(base: .createFile)
        /// Opening a file.
        public static let open = Operation(base: .open)
        /// Reading bytes.
        public static let read = Operation(base: .read)
        /// Writing bytes.
        public static let write = Operation(base: .write)
        /// Setting a file's length.
        public static let truncate = Operation(base: .truncate)
        /// Flushing written data to stable storage.
        public static let sync = Operation(base: .sync)
        /// Creating a symbolic link.
        public static let createLink = Operation(base: .createLink)
        /// Checking a path before using it.
        public static let check = Operation(base: .check)
        /// Deleting a file or folder.
        public static let remove = Operation(base: .remove)

        /// A short English phrase.
        public var description: String { base.rawValue }
    }

    /// Why it failed.
    public let reason: Reason
    /// What was being done.
    public let operation: Operation
    /// The file or folder concerned (absolute for ``FileStorage``, relative for ``MemoryStorage``).
    public let path: String
    /// The `errno` reported by the system, when there was one.
    public let errno: Int32?

    /// Creates an error.
    public init(reason: Reason, operation: Operation, path: String, errno: Int32? = nil) {
        self.reason = reason
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// Classifies a system error number.
    public init(errno code: Int32, operation: Operation, path: String) {
        self.init(reason: Self.classify(errno: code), operation: operation, path: path, errno: code)
    }

    /// The reason an `errno` value stands for.
    public static func classify(errno code: Int32) -> Reason {
        switch code {
        case ENOSPC, EDQUOT, EFBIG: return .diskFull
        case EACCES, EPERM, EROFS: return .permissionDenied
        case ENOENT, ENOTDIR: return .missingFile
        default: return .ioFailure
        }
    }

    /// `reason: operation path (system message)`.
    public var description: String {
        var text = "\(reason): \(operation) \(path)"
        if let errno { text += " (\(String(cString: strerror(errno))))" }
        return text
    }
}
