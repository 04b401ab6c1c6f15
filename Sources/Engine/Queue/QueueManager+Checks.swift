/// Rechecks in the daemon: `btq verify` puts a torrent in the `checking` state; a pass starts a full
/// check of its data (a ``CheckWork``) and, once it ended, records the verdict (``RecheckVerdict``):
/// back to seeding or downloading, where the user had it.
extension QueueManager {
    func startCheck(_ record: TorrentRecord, onChange: @Sendable (String) -> Void) {
        let job: any CheckWork
        do {
            job = try workers.check(record)
        } catch {
            try? store.setState(torrentId: record.id, .error, error: "\(error)")
            onChange("error #\(record.id) \(record.name): \(error)")
            return
        }
        let id = record.id
        jobs.startCheck(id) {
            let result: Result<TorrentChecker.Result, any Error>
            do {
                result = .success(try await job.run())
            } catch {
                result = .failure(error)
            }
            await self.checkEnded(id, result)
        }
        onChange("checking #\(id) \(record.name)")
    }

    func settleChecks(onChange: @Sendable (String) -> Void) throws {
        for (id, result) in jobs.finishedChecks {
            jobs.checkSettled(id)
            guard let record = try store.torrent(id: id), !record.isRemoved, record.state == .checking else { continue }
            switch result {
            case .success(let outcome):
                // Back where the user had it (read from the history: `btq verify` put it in `checking`).
                let before = try store.stateBeforeChecking(torrentId: id)
                try RecheckVerdict.record(outcome, of: record, before: before, in: store)
                onChange(CheckJob.summary(record, outcome))
            case .failure(let error):
                try store.setState(torrentId: id, .error, error: "recheck failed: \(error)")
                onChange("error #\(id) \(record.name): recheck failed: \(error)")
            }
        }
        jobs.clearFinishedChecks()
    }

    private func checkEnded(_ id: Int64, _ result: Result<TorrentChecker.Result, any Error>) {
        jobs.checkEnded(id, result)
        passNow()
    }
}
