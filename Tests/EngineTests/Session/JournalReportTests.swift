import Testing

@testable import Engine

/// The journal's line in the log: transactions, their rate over the session's age, the store's time,
/// checkpoints and their syncing time.
@Suite struct JournalReportTests {
    @Test func reportsCountsTimesAndTheRate() {
        let statistics = ProgressJournal.Statistics(
            transactions: 10, failedTransactions: 1, storeTime: .milliseconds(25), checkpoints: 2,
            checkpointTime: .microseconds(7_500))
        #expect(
            statistics.report(over: .seconds(4))
                == "journal: 10 transactions in 4.0 s (2.5/s, 1 failed), 25.0 ms in the store; 2 checkpoints,"
                + " 7.5 ms syncing")
    }

    @Test func aSessionOfNoAgeHasNoRate() {
        #expect(
            ProgressJournal.Statistics().report(over: .zero)
                == "journal: 0 transactions in 0.0 s (0.0/s, 0 failed), 0.0 ms in the store; 0 checkpoints,"
                + " 0.0 ms syncing")
    }
}
