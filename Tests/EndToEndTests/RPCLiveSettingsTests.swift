import Foundation
import TestSupport
import Testing

/// `btq config set rpc_*` while `btq run --rpc` runs: the password, the whitelist and the port take
/// effect without a restart (the same process answers), and settings that may not be served are
/// refused with the server left as it was.
@Suite("the RPC's settings follow btq config", .enabled(if: E2E.isEnabled), .serialized, .timeLimit(.minutes(10)))
struct RPCLiveSettingsTests {
    /// The status of a POST to `daemon`'s RPC with `user:password` and `host`.
    static func status(_ daemon: RPCDaemon, password: String, host: String? = nil) -> Int {
        let header = "Authorization: Basic " + Data("\(RPCDaemon.user):\(password)".utf8).base64EncodedString()
        return (try? daemon.request(host: host, auth: false, body: "{}", headers: [header]).status) ?? 0
    }

    @Test func configSetChangesTheRunningServer() async {
        await Scenario.run { scenario in
            let btq = try Btq(scenario)
            let daemon = try await RPCDaemon.start(btq, settingPort: try FreePort.next())
            let pid = daemon.process.pid
            #expect(Self.status(daemon, password: RPCDaemon.password) == 409)

            // A new password: the old one refused, the new one let in.
            let newPassword = "another pass"
            try await btq.run(["config", "set", "rpc_password", newPassword])
            let passwordFollowed = try await poll(timeout: .seconds(15), interval: .milliseconds(200)) {
                Self.status(daemon, password: RPCDaemon.password) == 401
            }
            scenario.expect(passwordFollowed, "the old password is refused once the setting changed")
            scenario.expect(Self.status(daemon, password: newPassword) == 409, "the new password is let in")

            // A host name added to the whitelist.
            scenario.expect(Self.status(daemon, password: newPassword, host: "nas.example") == 421, "not yet")
            try await btq.run(["config", "set", "rpc_whitelist", "nas.example"])
            let whitelisted = try await poll(timeout: .seconds(15), interval: .milliseconds(200)) {
                Self.status(daemon, password: newPassword, host: "nas.example") == 409
            }
            scenario.expect(whitelisted, "a whitelisted host name is answered")

            // A new port: listened on, the old one closed, transmission-remote works there.
            let newPort = try FreePort.next()
            try await btq.run(["config", "set", "rpc_port", "\(newPort)"])
            let moved = try await poll(timeout: .seconds(15), interval: .milliseconds(200)) {
                FreePort.isAccepting(newPort) && !FreePort.isAccepting(daemon.port)
            }
            scenario.expect(moved, "the server moved to port \(newPort)")
            let there = RPCDaemon(btq: btq, process: daemon.process, port: newPort)
            let listing = try await there.btq.scenario.runTool(
                "transmission-remote", RPCDaemon.transmissionRemote,
                ["127.0.0.1:\(newPort)", "-n", "\(RPCDaemon.user):\(newPassword)", "-l"], timeout: .seconds(30),
                quiet: true)
            scenario.expect(listing.status == 0, "transmission-remote on the new port: \(listing.output)")

            // A non-loopback address without a password: refused before anything is bound (the address,
            // of a documentation range, is on no interface), logged, the server left on 127.0.0.1.
            try await btq.run(["config", "set", "rpc_password", ""])
            try await btq.run(["config", "set", "rpc_bind_address", "192.0.2.1"])
            try await daemon.process.waitUntil("the refusal is logged", timeout: .seconds(15)) {
                let log = (try? String(contentsOf: daemon.process.logURL, encoding: .utf8)) ?? ""
                return log.contains("the new RPC settings were not applied")
            }
            scenario.expect(
                Self.status(there, password: newPassword) == 409, "still answering on 127.0.0.1:\(newPort)")
            scenario.expect(daemon.process.isRunning && daemon.process.pid == pid, "no restart")
        }
    }
}
