import Engine
import Foundation
import GRDB

/// The records of the processes that worked the queue (`btq run`, `btq get`): when each started, its
/// last sign of life, and whether it stopped cleanly.
package struct RunLog: Sendable {
    let writer: any DatabaseWriter

    /// Records the start of a run and returns its id.
    package func beginRun(pid: Int32, bootId: String?, at now: Date = Date()) throws -> Int64 {
        try writer.write { db in
            let millis = now.millisecondsSince1970
            try db.execute(
                sql: "INSERT INTO runs (pid, boot_id, started_at, heartbeat_at) VALUES (?, ?, ?, ?)",
                arguments: [Int64(pid), bootId, millis, millis])
            return db.lastInsertedRowID
        }
    }

    /// Refreshes a run's sign of life.
    package func heartbeat(runId: Int64, at now: Date = Date()) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ?", arguments: [now.millisecondsSince1970, runId])
        }
    }

    /// Records the end of a run; `clean` when every torrent it worked was flushed and checkpointed.
    package func endRun(runId: Int64, clean: Bool, at now: Date = Date()) throws {
        try writer.write { db in
            let millis = now.millisecondsSince1970
            try db.execute(
                sql: "UPDATE runs SET heartbeat_at = ?, stopped_at = ?, clean = ? WHERE id = ?",
                arguments: [millis, millis, clean, runId])
        }
    }

    /// Runs that never recorded their stop (killed, crashed, or the machine went down; or still running),
    /// newest first, at most `limit`.
    package func unfinishedRuns(limit: Int = 100) throws -> [RunRecord] {
        try fetchRuns(where: "WHERE stopped_at IS NULL", limit: limit)
    }

    /// Every recorded run, newest first, at most `limit`.
    package func all(limit: Int = 100) throws -> [RunRecord] {
        try fetchRuns(where: "", limit: limit)
    }

    private func fetchRuns(where condition: String, limit: Int) throws -> [RunRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, pid, boot_id, started_at, heartbeat_at, stopped_at, clean FROM runs
                    \(condition) ORDER BY id DESC LIMIT ?
                    """,
                arguments: [limit]
            ).map(Self.runRecord)
        }
    }

    private static func runRecord(_ row: Row) throws -> RunRecord {
        let stored = StoredRow(row: row, table: "runs")
        let any = Int64.min...Int64.max
        return RunRecord(
            id: try stored.integer(0, "id", in: any),
            pid: Int32(truncatingIfNeeded: try stored.integer(1, "pid", in: any)),
            bootId: try stored.optionalText(2, "boot_id"),
            startedAt: Date(millisecondsSince1970: try stored.integer(3, "started_at", in: any)),
            heartbeatAt: Date(millisecondsSince1970: try stored.integer(4, "heartbeat_at", in: any)),
            stoppedAt: try stored.optionalInteger(5, "stopped_at", in: any).map(Date.init(millisecondsSince1970:)),
            clean: try stored.bool(6, "clean"))
    }
}
