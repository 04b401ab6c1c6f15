/// Why the queue cannot work a torrent (or the daemon cannot start), worded for the user.
public struct QueueError: Error, CustomStringConvertible, Sendable {
    /// The words shown to the user and stored as the torrent's last error.
    public let message: String

    /// An error with `message`.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
