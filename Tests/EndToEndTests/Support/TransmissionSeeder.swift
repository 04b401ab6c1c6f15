import Foundation

/// transmission-daemon seeding one torrent on 127.0.0.1.
///
/// Its settings.json turns DHT, LPD, PEX, uTP, port forwarding, the blocklist and the watch folder
/// off, binds peers and RPC to 127.0.0.1 (RPC without authentication), fixes the peer port, and
/// prefers plaintext. The torrent is added paused with `transmission-remote`, verified, then
/// started; ready when its data is 100% verified.
///
/// Transmission never dials a peer at 127.0.0.0/8 (it treats it as a "martian" address) but accepts
/// incoming connections: a leecher must be pointed at ``address`` (`btq get --peer`).
struct TransmissionSeeder: Sendable {
    let process: ChildProcess
    let scenario: Scenario
    /// The peer port.
    let port: UInt16
    /// The RPC port.
    let rpcPort: UInt16
    /// `127.0.0.1:PORT`, for `--peer`.
    var address: String { "127.0.0.1:\(port)" }

    /// `encryption` is Transmission's setting: 0 prefers plaintext, 1 prefers encryption, 2 requires it.
    static func start(
        in scenario: Scenario, torrent: TestTorrent, data: URL, encryption: Int = 0
    ) async throws -> TransmissionSeeder {
        let seeder = try await launch(in: scenario, downloadDirectory: data, encryption: encryption)
        try await seeder.remote(["--add", torrent.url.path, "--download-dir", data.path])
        try await seeder.remote(["--torrent", torrent.infoHash, "--verify"])
        try await seeder.remote(["--torrent", torrent.infoHash, "--start"])
        let deadline = ContinuousClock.now + E2E.startTimeout
        var info = ""
        while ContinuousClock.now < deadline {
            info = try await seeder.remote(["--torrent", torrent.infoHash, "--info"])
            let state = Self.field("State", in: info) ?? ""
            if Self.field("Percent Done", in: info) == "100%", ["Idle", "Seeding", "Up & Down"].contains(state) {
                return seeder
            }
            if let error = Self.field("Error", in: info) { throw HarnessError("transmission: \(error)\n\(info)") }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError(
            "transmission did not finish verifying within \(E2E.startTimeout):\n\(info)\n\(seeder.process.logTail())")
    }

    /// Starts transmission-daemon with no torrent, saving into `downloadDirectory`; returns once its
    /// RPC port answers.
    static func launch(
        in scenario: Scenario, downloadDirectory data: URL, encryption: Int = 0
    ) async throws -> TransmissionSeeder {
        let port = try FreePort.next()
        let rpcPort = try FreePort.next()
        let config = try scenario.folder("transmission-\(port)")
        let settings: [String: Any] = [
            "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
            "port-forwarding-enabled": false, "blocklist-enabled": false,
            "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
            "peer-port": Int(port), "peer-port-random-on-start": false,
            "rpc-enabled": true, "rpc-bind-address": "127.0.0.1", "rpc-port": Int(rpcPort),
            "rpc-authentication-required": false, "rpc-whitelist-enabled": false,
            "rpc-host-whitelist-enabled": false,
            "speed-limit-down-enabled": false, "speed-limit-up-enabled": false, "alt-speed-enabled": false,
            "download-dir": data.path, "incomplete-dir-enabled": false, "watch-dir-enabled": false,
            "start-added-torrents": false, "encryption": encryption, "script-torrent-done-enabled": false,
            "message-level": 2,
        ]
        try JSONSerialization.data(withJSONObject: settings, options: [.prettyPrinted, .sortedKeys])
            .write(to: config.appendingPathComponent("settings.json"))
        // Its own log file: to a pipe or file, its stderr is block-buffered and shows nothing in time.
        let log = config.appendingPathComponent("transmission.log")
        let child = try scenario.start(
            "transmission-daemon", "/usr/bin/transmission-daemon",
            ["--foreground", "--config-dir", config.path, "--logfile", log.path], extraLogs: [log])
        let seeder = TransmissionSeeder(process: child, scenario: scenario, port: port, rpcPort: rpcPort)
        try await child.waitUntil("its RPC port", timeout: E2E.startTimeout) { FreePort.isAccepting(rpcPort) }
        return seeder
    }

    /// Runs `transmission-remote 127.0.0.1:RPC arguments` and returns its output; throws unless it exits 0.
    @discardableResult
    func remote(_ arguments: [String]) async throws -> String {
        let result = try await scenario.runTool(
            "transmission-remote", "/usr/bin/transmission-remote", ["127.0.0.1:\(rpcPort)"] + arguments, quiet: true)
        guard result.status == 0 else {
            throw HarnessError("transmission-remote \(arguments.joined(separator: " ")) failed:\n\(result.output)")
        }
        return result.output
    }

    /// The value of `  Name: value` in `transmission-remote --info` output.
    static func field(_ name: String, in info: String) -> String? {
        for line in info.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(name + ": ") { return String(trimmed.dropFirst(name.count + 2)) }
        }
        return nil
    }
}
