import Foundation

/// Watches a btq process for the length of an attack: samples its memory, and notes when the honest
/// side of the test (a download from btq, or btq's own download) is done.
struct AttackWatch: Sendable {
    /// How long each misbehaviour lasts.
    static let duration: Duration = .seconds(60)
    /// The most memory btq may hold at any time under attack: 150 MiB. A seeding btq holds about
    /// 35 MiB; the rest is room for its caches and for every peer's bounded buffers (a few MiB of
    /// frames queued per peer, one frame of at most 1 MiB being received per peer), not for anything
    /// that grows with what an attacker sends.
    static let residentBound = 150 << 20
    /// How often the memory is sampled (`VmHWM` catches the peaks between samples).
    static let interval: Duration = .milliseconds(250)

    /// What one attack did to btq.
    struct Report: Sendable, CustomStringConvertible {
        /// Resident memory just before the attack.
        let before: Int
        /// The highest resident memory sampled during the attack.
        let highest: Int
        /// The resident memory and high water mark at the end of the attack.
        let after: ProcessMemory
        /// How long the attack was watched (shorter than ``duration`` when btq went over the bound).
        let watched: Duration
        /// When the honest side was done, counted from the start of the attack; `nil` if it was not.
        let honestDone: Duration?

        var isWithinBound: Bool { highest < residentBound && after.peak < residentBound }

        var description: String {
            "RSS \(ProcessMemory.mebibytes(before)) before, at most \(ProcessMemory.mebibytes(highest)) sampled, "
                + "VmHWM \(ProcessMemory.mebibytes(after.peak)) after \(Self.seconds(watched)) s "
                + "(bound \(ProcessMemory.mebibytes(residentBound))); honest transfer "
                + (honestDone.map { "done after \(Self.seconds($0)) s" } ?? "not done")
        }

        static func seconds(_ duration: Duration) -> String {
            String(
                format: "%.1f",
                Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        }
    }

    /// Samples `btq` every ``interval`` for ``duration`` from now, checking `honestDone` at each sample.
    /// Stops early, and stops `hostile`, once btq holds more than ``residentBound`` (no use flooding a
    /// process that already failed; the machine's memory is shared). Throws if btq exits.
    static func watch(
        _ btq: ChildProcess, hostile: HostilePeer, honestDone: @Sendable () throws -> Bool
    ) async throws -> Report {
        let start = ContinuousClock.now
        let before = try ProcessMemory(pid: btq.pid).resident
        var highest = before
        var done: Duration?
        while ContinuousClock.now - start < duration {
            // A crashing Swift process runs its backtracer for a while: its log says so first.
            guard btq.isRunning, !hasCrashed(btq), let memory = try? ProcessMemory(pid: btq.pid) else {
                throw HarnessError("btq crashed or exited under the \(hostile.mode.rawValue) attack\n\(btq.logTail())")
            }
            highest = max(highest, memory.resident)
            if done == nil, (try? honestDone()) == true { done = ContinuousClock.now - start }
            if memory.resident >= residentBound { break }
            try await Task.sleep(for: interval)
        }
        let watched = ContinuousClock.now - start
        let after = try ProcessMemory(pid: btq.pid)
        await hostile.process.stop()
        if hasCrashed(btq) {
            throw HarnessError("btq crashed under the \(hostile.mode.rawValue) attack\n\(btq.logTail())")
        }
        return Report(
            before: before, highest: max(highest, after.resident), after: after, watched: watched, honestDone: done)
    }

    /// Whether `process`'s log shows a crash (a fatal error, or the backtracer at work).
    static func hasCrashed(_ process: ChildProcess) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: process.logURL) else { return false }
        defer { try? handle.close() }
        let text = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        return text.contains("Fatal error") || text.contains("*** Signal")
    }
}
