import Foundation

extension Duration {
    /// `1.23 s`: how the history says how long something took.
    var secondsText: String {
        let (seconds, attoseconds) = components
        return String(format: "%.2f s", Double(seconds) + Double(attoseconds) / 1e18)
    }
}
