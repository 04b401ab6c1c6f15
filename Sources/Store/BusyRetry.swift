import Foundation
import GRDB

/// Retries work that SQLite refused with `SQLITE_BUSY` or `SQLITE_LOCKED` without waiting, until a
/// deadline, with a growing randomised back-off.
///
/// SQLite calls the busy handler (the busy timeout) for most statements, but not when waiting could
/// deadlock: a connection that holds a shared lock and wants a write lock that another connection also
/// wants gets `SQLITE_BUSY` at once. `PRAGMA journal_mode = WAL` on a new database (what opening a
/// `DatabasePool` runs) is such a statement, so several processes opening one new database at once
/// failed at random. Retrying the whole step is safe because a failed open leaves nothing behind.
struct BusyRetry {
    /// How long to keep retrying, counted from the first attempt.
    let timeout: Duration
    /// The first pause between attempts; it doubles up to ``maxDelay``.
    var firstDelay: Duration = .milliseconds(2)
    /// The longest pause between attempts.
    var maxDelay: Duration = .milliseconds(100)

    /// Runs `body`, again while it fails with a busy or locked error and the deadline is not past;
    /// the last error is thrown after that (and any other error at once).
    func run<T>(_ body: () throws -> T) throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var delay = firstDelay
        while true {
            do {
                return try body()
            } catch let error as DatabaseError where Self.isBusy(error) {
                // Randomised so that processes that collided do not retry in step.
                let pause = delay * Double.random(in: 0.5...1.5)
                guard clock.now + pause < deadline else { throw error }
                Thread.sleep(
                    forTimeInterval: Double(pause.components.attoseconds) / 1e18
                        + Double(pause.components.seconds))
                delay = min(delay * 2, maxDelay)
            }
        }
    }

    /// True for the errors that mean "another connection holds a lock right now".
    static func isBusy(_ error: DatabaseError) -> Bool {
        error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
    }
}
