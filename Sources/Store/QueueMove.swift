/// A change of a torrent's place in the queue.
package enum QueueMove: String, Sendable, Codable, CaseIterable {
    /// One place towards the head.
    case up
    /// One place towards the tail.
    case down
    /// To the head.
    case top
    /// To the tail.
    case bottom
}
