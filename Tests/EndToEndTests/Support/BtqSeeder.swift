import Engine
import Foundation

/// A `btq run` daemon that seeds torrents whose data is already in place: `btq add --dir <data>`, then
/// the daemon checks the data and seeds, listening on 127.0.0.1.
struct BtqSeeder: Sendable {
    let btq: Btq
    let process: ChildProcess
    /// Its listening port.
    let port: UInt16
    /// The address it listens on.
    let host: String
    /// `127.0.0.1:PORT` (`[::1]:PORT` on IPv6), for leechers' `--peer`.
    var address: String { LibtorrentSeeder.address(host, port) }

    /// Adds `torrents` with their data under `data` and starts the daemon on `bindAddress` (with
    /// `extra` arguments, e.g. `--peer`); returns once every torrent is seeding.
    static func start(
        _ btq: Btq, torrents: [TestTorrent], data: URL, extra: [String] = [], bindAddress: String = "127.0.0.1"
    ) async throws -> BtqSeeder {
        for torrent in torrents { try await btq.run(["add", torrent.url.path, "--dir", data.path]) }
        // Free for UDP too: with uTP on (the default) btq binds both on the port, and with
        // `enable_tcp off` only UDP.
        let port = try FreePort.next(udp: true)
        let process = try btq.scenario.start(
            "btq run (seed)", Btq.executable, ["run", "--port", "\(port)", "--bind-address", bindAddress] + extra,
            environment: ["BTQ_DB": btq.database.path])
        let seeder = BtqSeeder(btq: btq, process: process, port: port, host: bindAddress)
        try await process.waitUntil("its torrents are checked and seeding", timeout: E2E.startTimeout) {
            try torrents.allSatisfy { try btq.record(of: $0).state == .seeding }
        }
        try btq.scenario.require(process.isRunning, "btq run exited:\n\(process.logTail())")
        return seeder
    }
}

/// transmission-daemon downloading one torrent on 127.0.0.1 (settings as ``TransmissionSeeder``).
/// Transmission never dials 127.0.0.1 itself: the seeder must dial it (``address``).
struct TransmissionLeecher: Sendable {
    let daemon: TransmissionSeeder
    var address: String { daemon.address }

    /// `encryption` is Transmission's setting: 0 plaintext preferred, 1 encryption preferred, 2 required.
    static func start(
        in scenario: Scenario, torrent: TestTorrent, into directory: URL, encryption: Int = 0
    ) async throws
        -> TransmissionLeecher
    {
        let daemon = try await TransmissionSeeder.launch(
            in: scenario, downloadDirectory: directory, encryption: encryption)
        try await daemon.remote(["--add", torrent.url.path, "--download-dir", directory.path])
        try await daemon.remote(["--torrent", torrent.infoHash, "--start"])
        return TransmissionLeecher(daemon: daemon)
    }

    /// Waits until transmission reports 100% done.
    func waitUntilComplete(_ torrent: TestTorrent, timeout: Duration = E2E.downloadTimeout) async throws {
        let deadline = ContinuousClock.now + timeout
        var info = ""
        while ContinuousClock.now < deadline {
            info = try await daemon.remote(["--torrent", torrent.infoHash, "--info"])
            if TransmissionSeeder.field("Percent Done", in: info) == "100%" { return }
            if let error = TransmissionSeeder.field("Error", in: info) {
                throw HarnessError("transmission: \(error)\n\(info)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw HarnessError("transmission did not complete within \(timeout):\n\(info)")
    }
}
