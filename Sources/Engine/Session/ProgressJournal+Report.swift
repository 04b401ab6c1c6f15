import Foundation

extension ProgressJournal.Statistics {
    /// One line for logs and benchmarks: the transactions over the session's `age` and their rate, those
    /// that failed, the time spent in the store, the checkpoints and the time spent syncing for them.
    func report(over age: Duration) -> String {
        func ms(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
        }
        let seconds = ms(age) / 1000
        let rate = seconds > 0 ? Double(transactions) / seconds : 0
        return String(
            format:
                "journal: %d transactions in %.1f s (%.1f/s, %d failed), %.1f ms in the store; %d checkpoints,"
                + " %.1f ms syncing",
            transactions, seconds, rate, failedTransactions, ms(storeTime), checkpoints, ms(checkpointTime))
    }
}
