/// The order in which a torrent's new pieces are started, within each priority level (higher levels
/// always first). Whatever the order, free blocks of pieces already started are requested before any
/// new piece, and endgame works the same.
public enum DownloadOrder: String, Sendable, Codable, CaseIterable {
    /// Rarest first, after a few random first pieces (the default: best for the swarm).
    case rarest
    /// In piece order, lowest index first (for streaming).
    case sequential
    /// The first and last piece of each wanted file before anything else, then rarest first (for
    /// previews: most formats need the head and tail of a file to open it).
    case firstLast = "first-last"
}
