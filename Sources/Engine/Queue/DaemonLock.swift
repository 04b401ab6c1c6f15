import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Makes sure one daemon works a database at a time: an exclusive `flock` on `<db>.lock`, released
/// when the process ends however it ends (the kernel drops the lock with the descriptor).
package final class DaemonLock {
    private let descriptor: Int32

    /// Takes the lock or throws a `QueueError` naming the process that holds it.
    package init(databasePath: String) throws {
        let path = databasePath + ".lock"
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw QueueError("\(path): cannot open the daemon lock: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines)
            close(descriptor)
            throw QueueError(
                "another btq daemon is already working this database (pid \(holder.flatMap { $0.isEmpty ? nil : $0 } ?? "?"))"
            )
        }
        ftruncate(descriptor, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
