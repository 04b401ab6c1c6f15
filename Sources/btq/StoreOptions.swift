import ArgumentParser
import Foundation
import Store

/// The options every command that touches the queue shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The queue database.", valueName: "path"))
    var db: String?

    /// The database path: `--db`, else `$BTQ_DB`, else `$XDG_DATA_HOME/btq/btq.sqlite`, else
    /// `~/.local/share/btq/btq.sqlite`.
    func databasePath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let db, !db.isEmpty { return absolutePath(db) }
        if let db = environment["BTQ_DB"], !db.isEmpty { return absolutePath(db) }
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            return data + "/btq/btq.sqlite"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/share/btq/btq.sqlite"
    }

    /// Opens (creating and migrating as needed) the queue database.
    func openStore() throws -> BtqStore {
        try BtqStore(path: databasePath())
    }

    /// Opens the queue database for a command that only reads it. A database btq may not write (mode
    /// 0444, a read-only mount, a folder it may not create files in) is opened read-only instead of
    /// failing; when that fails too, the error of the writable open is the one reported.
    func openStoreForReading() throws -> BtqStore {
        let path = databasePath()
        do {
            return try BtqStore(path: path)
        } catch let error as StoreError {
            throw error
        } catch {
            guard FileManager.default.fileExists(atPath: path) else { throw error }
            do {
                return try BtqStore.openForReading(path: path)
            } catch let readError as StoreError where readError.code != .invalidValue {
                throw readError
            } catch {
                throw error
            }
        }
    }
}

/// Makes `path` absolute against the current directory and removes `.` and `..` elements.
func absolutePath(_ path: String) -> String {
    let expanded = (path as NSString).expandingTildeInPath
    let full = expanded.hasPrefix("/") ? expanded : FileManager.default.currentDirectoryPath + "/" + expanded
    return URL(fileURLWithPath: full).standardizedFileURL.path
}
