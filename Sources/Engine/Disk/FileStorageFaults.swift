/// Faults and pauses that tests inject into a ``FileStorage`` (absent in production, where the storage
/// calls the system directly).
///
/// Both hooks run on the storage's I/O threads. They let a test fail a sync as a device would, or hold a
/// write between taking its file and writing its bytes, so that a race with a checkpoint happens in a
/// chosen order instead of by chance.
struct FileStorageFaults: Sendable {
    /// Called after a write has its file's descriptor and before its bytes are written; an `errno` value
    /// returned fails the write with it (`nil`: the write goes on).
    var beforeWrite: (@Sendable (FileIndex) -> Int32?)?
    /// Called instead of `fdatasync(descriptor)` for `file`; returns `0` or an `errno` value.
    var sync: (@Sendable (_ file: FileIndex, _ descriptor: Int32) -> Int32)?

    /// No faults.
    init(
        beforeWrite: (@Sendable (FileIndex) -> Int32?)? = nil,
        sync: (@Sendable (_ file: FileIndex, _ descriptor: Int32) -> Int32)? = nil
    ) {
        self.beforeWrite = beforeWrite
        self.sync = sync
    }
}
