import Foundation

/// This process's entry in the database's runs: tells the next start whether it stopped cleanly, and
/// on which boot, so the next start knows how far to trust the recorded progress (DESIGN.md, invariant 3).
package struct ProcessRun: Sendable {
    let store: any QueueStore
    /// Its row in the runs.
    package let id: Int64
    /// What earlier runs that did not stop cleanly mean for the progress they recorded.
    package let policy: ResumePolicy

    package init(store: any QueueStore) throws {
        let bootId = Self.currentBootId()
        let stops = try store.unfinishedRuns(limit: 100)
            .filter { !($0.bootId == bootId && Self.isAlive($0.pid)) }  // alive: another btq working now
            .map {
                ResumePolicy.UncleanStop(
                    bootId: $0.bootId, startedAt: $0.startedAt.btqTimestamp, lastSeenAt: $0.heartbeatAt.btqTimestamp)
            }
        self.store = store
        self.policy = ResumePolicy(bootId: bootId, uncleanStops: stops)
        self.id = try store.beginRun(pid: getpid(), bootId: bootId, at: Date())
    }

    /// How often a working process records its sign of life: well within ``ResumePolicy/writeSlack``, so
    /// that its own last writes before an unclean stop still fall inside the run's window.
    package static let heartbeatInterval: Duration = .seconds(5)

    package func heartbeat() {
        try? store.heartbeat(runId: id, at: Date())
    }

    package func end(clean: Bool) {
        try? store.endRun(runId: id, clean: clean, at: Date())
    }

    /// The kernel's id of the current boot, or `nil` where there is none to read.
    package static func currentBootId() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else {
            return nil
        }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    private static func isAlive(_ pid: Int32) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}

extension Date {
    var btqTimestamp: Timestamp { Timestamp(rawValue: Int64((timeIntervalSince1970 * 1000).rounded(.down))) }
}
