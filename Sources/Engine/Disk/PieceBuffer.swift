/// A piece's worth of memory that an assembly fills block by block, that hashing and writing then read,
/// and that the next assembly reuses.
///
/// A class around one allocation, not an array: passing it from the assembly to the task that stores the
/// piece, and back to the session's spares, never copies it, whoever still holds a reference. With
/// `[UInt8]` a recycled buffer was copied whole (and its fresh pages faulted in) whenever a finished job
/// still referenced it when the next piece began: a fifth of the pieces of a 1 GiB download.
public final class PieceBuffer: @unchecked Sendable {
    // Invariant for @unchecked Sendable: the buffer has one user at a time (the session's assembly while
    // it fills it, then the task that hashes and writes the piece, then the session's spares), and only
    // that user touches the bytes; handing it on goes through the session actor.
    /// The memory, `count` bytes.
    public let bytes: UnsafeMutableRawBufferPointer

    /// Uninitialized memory for a piece of `count` bytes.
    public init(count: Int) {
        bytes = .allocate(byteCount: count, alignment: 16)
    }

    deinit { bytes.deallocate() }

    /// The piece's length in bytes.
    public var count: Int { bytes.count }

    /// The bytes, read-only.
    public var readable: UnsafeRawBufferPointer { UnsafeRawBufferPointer(bytes) }
}
