import Foundation
import GRDB

/// btq's settings (`btq config`): named text values that the command line sets and the queue manager
/// reads (through ``EnginePorts``, its ``QueueStore``).
package struct StoreSettings: Sendable {
    let writer: any DatabaseWriter

    /// The value of a setting, or `nil` when it is not set.
    package func value(_ key: String) throws -> String? {
        try writer.read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT value FROM settings WHERE key = ?"), arguments: [key]).map
            {
                try StoredRow(row: $0, table: "settings").text(0, "value")
            }
        }
    }

    /// Sets a setting (`nil` removes it).
    package func set(_ key: String, to value: String?) throws {
        try writer.write { db in
            if let value {
                try db.execute(
                    sql: """
                        INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
                        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                        """,
                    arguments: [key, value, Date().millisecondsSince1970])
            } else {
                try db.execute(sql: "DELETE FROM settings WHERE key = ?", arguments: [key])
            }
        }
    }

    /// Every setting.
    package func all() throws -> [String: String] {
        try writer.read { db in
            var result: [String: String] = [:]
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT key, value FROM settings")) {
                let stored = StoredRow(row: row, table: "settings")
                result[try stored.text(0, "key")] = try stored.text(1, "value")
            }
            return result
        }
    }
}
