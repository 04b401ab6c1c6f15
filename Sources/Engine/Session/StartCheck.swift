/// The check a session makes at start of what is already done (``TorrentSession/restoreProgress()``):
/// whether it has run, what it found, and who waits for the session to be past it.
///
/// A value the session owns; the waiters are resumed by the session once its run is working (or has
/// ended), which may be later than the check itself.
struct StartCheck {
    /// True once the check has run: ``TorrentStatus/isStarting`` is false from then on.
    private(set) var isDone = false
    /// The check found wanted pieces missing (``TorrentStatus/wasIncompleteAtStart``).
    private(set) var foundMissingPieces = false
    /// Bytes of existing data read back to check them.
    private(set) var bytesRead: Int64 = 0
    /// Callers of ``TorrentSession/started()`` waiting for the check (or the end of the run).
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// How many callers wait.
    var waiting: Int { waiters.count }

    /// The check has run: it found wanted pieces missing or not, and read `bytesRead` bytes back.
    mutating func finished(missingPieces: Bool, bytesRead: Int64) {
        foundMissingPieces = missingPieces
        self.bytesRead = bytesRead
        isDone = true
    }

    /// Resumes `waiter` at once when the check is done, else keeps it until ``releaseWaiters()``.
    mutating func wait(_ waiter: CheckedContinuation<Void, Never>) {
        guard isDone else {
            waiters.append(waiter)
            return
        }
        waiter.resume()
    }

    /// Resumes every waiting caller: the session works, or its run has ended.
    mutating func releaseWaiters() {
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}
