import Foundation
import Testing

/// A database btq may not write (a file of mode 0444 in a folder of mode 0555, or a read-only mount) can
/// still be listed and queried; commands that write fail with a clear error and change nothing.
@Suite(.timeLimit(.minutes(5))) struct ReadOnlyDatabaseTests {
    static let readingCommands: [[String]] = [
        ["list"], ["list", "--json"], ["list", "--all"], ["info", "1"], ["files", "1"], ["history"],
        ["history", "1"], ["peers", "1"], ["dht"], ["dht", "--json"], ["config", "get"],
    ]

    /// A queue of one torrent with some history and a peer.
    static func makeQueue(_ btq: BtqProcess) throws -> String {
        let torrent = try QueueCommandTests.makeTorrent(btq)
        #expect(try btq.run(["add", torrent]).status == 0)
        #expect(try btq.run(["pause", "1"]).status == 0)
        #expect(try btq.run(["config", "set", "max_active_downloads", "2"]).status == 0)
        try DamagedDatabaseTests.sqlite(
            btq.database,
            """
            INSERT INTO peers (torrent_id, address, port, client, source, first_seen_at, last_seen_at)
                VALUES (1, '127.0.0.1', 6881, 'libtorrent', 'tracker', 0, 0);
            """)
        return "content"
    }

    /// Checkpoints the database and removes its `-wal` and `-shm` files, as a copied database lacks them:
    /// a reader must then create them, which it cannot do in a read-only folder.
    static func dropJournal(_ btq: BtqProcess) throws {
        try DamagedDatabaseTests.sqlite(btq.database, "PRAGMA wal_checkpoint(TRUNCATE);")
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: btq.database + suffix) }
    }

    /// What each reading command prints on a writable database, to compare with the read-only runs.
    static func outputs(_ btq: BtqProcess, as prefix: [String] = []) throws -> [String] {
        try readingCommands.map { command in
            let result = try btq.run(command, prefix: prefix)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            return result.stdout
        }
    }

    @Test func aWriteProtectedDatabaseCanBeQueried() throws {
        let btq = try BtqProcess()
        defer {
            _ = try? Self.chmod(0o755, btq.folder.appendingPathComponent("db").path)
            btq.cleanUp()
        }
        let name = try Self.makeQueue(btq)
        let expected = try Self.outputs(btq)
        try Self.dropJournal(btq)
        let folder = btq.folder.appendingPathComponent("db").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        for file in files { try Self.chmod(0o444, folder + "/" + file) }
        try Self.chmod(0o555, folder)
        // root may write anything: run btq as nobody then (the test folder is readable by all).
        let prefix = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        try Self.chmod(0o755, btq.folder.path)
        let outputs = try Self.outputs(btq, as: prefix)
        #expect(outputs == expected)
        #expect(outputs[0].contains(name))
        let resume = try btq.run(["resume", "1"], prefix: prefix)
        #expect(resume.status == 1, "\(resume.stdout)")
        #expect(resume.stderr.hasPrefix("btq: "), "\(resume.stderr)")
    }

    @Test(.enabled(if: getuid() == 0, "needs root for a mount namespace"))
    func aDatabaseOnAReadOnlyMountCanBeQueried() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        _ = try Self.makeQueue(btq)
        let expected = try Self.outputs(btq)
        try Self.dropJournal(btq)
        let folder = btq.folder.appendingPathComponent("db").path
        // In a private mount namespace, the database folder becomes a read-only bind mount of itself.
        let script = "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\""
        let prefix = ["/usr/bin/unshare", "--mount", "/bin/sh", "-c", script, folder]
        let outputs = try Self.outputs(btq, as: prefix)
        #expect(outputs == expected)
        let resume = try btq.run(["resume", "1"], prefix: prefix)
        #expect(resume.status == 1, "\(resume.stdout)")
        #expect(resume.stderr.hasPrefix("btq: "), "\(resume.stderr)")
    }

    static func chmod(_ mode: mode_t, _ path: String) throws {
        guard Glibc.chmod(path, mode) == 0 else { throw CocoaError(.fileWriteNoPermission) }
    }
}
