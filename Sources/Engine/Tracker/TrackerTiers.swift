/// The multitracker order of BEP 12: tiers tried in order, trackers within a tier shuffled once, and a
/// tracker that answers moved to the front of its tier.
public struct TrackerTiers: Sendable, Hashable {
    /// The tiers, each in its current order of preference.
    public private(set) var tiers: [[String]]

    /// Shuffles each tier with `generator` (BEP 12 asks for a random order within a tier), dropping
    /// duplicates across tiers and empty tiers.
    public init(_ tiers: [[String]], using generator: inout some RandomNumberGenerator) {
        var seen = Set<String>()
        var result: [[String]] = []
        for tier in tiers {
            let unique = tier.filter { !$0.isEmpty && seen.insert($0).inserted }
            if !unique.isEmpty { result.append(unique.shuffled(using: &generator)) }
        }
        self.tiers = result
    }

    /// Shuffles with the system generator.
    public init(_ tiers: [[String]]) {
        var generator = SystemRandomNumberGenerator()
        self.init(tiers, using: &generator)
    }

    /// Every tracker in the order to try them.
    public var ordered: [String] { tiers.flatMap { $0 } }

    /// True when there is no tracker at all.
    public var isEmpty: Bool { tiers.isEmpty }

    /// Moves `url` to the front of its tier (it answered).
    public mutating func promote(_ url: String) {
        for t in tiers.indices {
            if let i = tiers[t].firstIndex(of: url) {
                let entry = tiers[t].remove(at: i)
                tiers[t].insert(entry, at: 0)
                return
            }
        }
    }
}
