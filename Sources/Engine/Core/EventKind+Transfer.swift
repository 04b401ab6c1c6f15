extension EventKind {
    /// The torrent's own rate limits changed (the detail says to what).
    public static let limits: EventKind = "limits"
    /// Seeding ended because a ratio or seeding-time limit was reached (the detail says which).
    public static let seedLimit: EventKind = "seed-limit"
}
