import Engine
import Foundation
import Store

/// This process's entry in the database's runs: tells the next start whether it stopped cleanly, and
/// on which boot, so the next start knows how far to trust the recorded progress (DESIGN.md, invariant 3).
struct ProcessRun: Sendable {
    let store: BtqStore
    let id: Int64
    /// What earlier runs that did not stop cleanly mean for the progress they recorded.
    let policy: ResumePolicy

    init(store: BtqStore) throws {
        let bootId = Self.currentBootId()
        let stops = try store.unfinishedRuns()
            .filter { !($0.bootId == bootId && Self.isAlive($0.pid)) }  // alive: another btq working now
            .map {
                ResumePolicy.UncleanStop(
                    bootId: $0.bootId, startedAt: $0.startedAt.btqTimestamp, lastSeenAt: $0.heartbeatAt.btqTimestamp)
            }
        self.store = store
        self.policy = ResumePolicy(bootId: bootId, uncleanStops: stops)
        self.id = try store.beginRun(pid: getpid(), bootId: bootId)
    }

    func heartbeat() {
        try? store.heartbeat(runId: id)
    }

    func end(clean: Bool) {
        try? store.endRun(runId: id, clean: clean)
    }

    /// The kernel's id of the current boot, or `nil` where there is none to read.
    static func currentBootId() -> String? {
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
