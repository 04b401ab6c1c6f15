/// Why the queue cannot work a torrent (or the daemon cannot start), worded for the user.
package struct QueueError: Error, CustomStringConvertible, Sendable {
    /// The words shown to the user and stored as the torrent's last error.
    package let message: String

    /// An error with `message`.
    package init(_ message: String) { self.message = message }

    package var description: String { message }
}
