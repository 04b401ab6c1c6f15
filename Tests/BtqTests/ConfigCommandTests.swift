import Engine
import Foundation
import Store
import Testing

/// `btq config` through the real executable.
@Suite(.timeLimit(.minutes(5))) struct ConfigCommandTests {
    @Test func setGetUnsetRoundTrip() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let listed = try btq.run(["config", "get"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n")
        #expect(lines.count == 33)
        #expect(lines.contains { $0.hasPrefix("web_seed_connections") && $0.contains(" 2 ") })
        #expect(lines.contains { $0.hasPrefix("dials_per_second") && $0.contains(" 30 ") })
        #expect(lines.contains { $0.hasPrefix("peer_retry_delay") && $0.contains(" 60 ") })
        #expect(lines.contains { $0.hasPrefix("peer_max_failures") && $0.contains(" 3 ") })
        #expect(lines.contains { $0.hasPrefix("encryption") && $0.contains(" prefer ") })
        #expect(lines.dropFirst().allSatisfy { $0.hasSuffix("(default)") })
        #expect(lines.contains { $0.hasPrefix("max_active_downloads") && $0.contains(" 3 ") })
        #expect(try btq.run(["config", "get", "max_active_downloads"]).stdout == "3\n")

        let set = try btq.run(["config", "set", "max_active_downloads", "5"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout == "max_active_downloads = 5\n")
        #expect(try btq.run(["config", "get", "max_active_downloads"]).stdout == "5\n")
        #expect(try btq.run(["config", "set", "stall_timeout", "060"]).status == 0)
        #expect(try btq.run(["config", "get", "stall_timeout"]).stdout == "60\n")
        #expect(try btq.run(["config", "set", "max_active_seeds", "0"]).status == 0)
        #expect(try btq.run(["config", "get", "peer_send_queue_limit"]).stdout == "4194304\n")
        #expect(try btq.run(["config", "set", "peer_send_queue_limit", "8M"]).status == 0)
        #expect(try btq.run(["config", "get", "peer_send_queue_limit"]).stdout == "8388608\n")
        #expect(try btq.run(["config", "set", "peer_drain_timeout", "1m"]).status == 0)
        #expect(try btq.run(["config", "get", "peer_drain_timeout"]).stdout == "60\n")
        #expect(try btq.run(["config", "set", "dials_per_second", "0"]).status == 0)
        #expect(try btq.run(["config", "set", "dials_per_second", "-1"]).status != 0)
        #expect(try btq.run(["config", "set", "peer_retry_delay", "2m"]).status == 0)
        #expect(try btq.run(["config", "get", "peer_retry_delay"]).stdout == "120\n")
        #expect(try btq.run(["config", "set", "peer_retry_delay", "0"]).status != 0)
        #expect(try btq.run(["config", "set", "peer_drain_timeout", "0"]).status != 0)
        #expect(try btq.run(["config", "set", "peer_max_failures", "0"]).status != 0)
        let all = try btq.run(["config"]).stdout.split(separator: "\n")
        #expect(all.contains { $0.hasPrefix("max_active_downloads") && $0.hasSuffix(" 5") })
        #expect(all.contains { $0.hasPrefix("max_active_seeds") && $0.hasSuffix(" 0") })

        let unset = try btq.run(["config", "unset", "max_active_downloads"])
        #expect(unset.status == 0)
        #expect(try btq.run(["config", "get", "max_active_downloads"]).stdout == "3\n")
    }

    /// As other clients do, -1 (or `unlimited`) lifts the limit on torrents at once; large numbers are fine.
    @Test func slotSettingsTakeLargeNumbersAndUnlimited() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        #expect(try btq.run(["config", "set", "max_active_seeds", "5000"]).status == 0)
        #expect(try btq.run(["config", "get", "max_active_seeds"]).stdout == "5000\n")
        // A value starting with a dash follows `--`, as for any command-line tool.
        #expect(try btq.run(["config", "set", "max_active_seeds", "--", "-1"]).stdout == "max_active_seeds = -1\n")
        #expect(try btq.run(["config", "set", "max_active_downloads", "Unlimited"]).status == 0)
        #expect(try btq.run(["config", "get", "max_active_downloads"]).stdout == "-1\n")
    }

    @Test(arguments: [
        ["set", "max_active_downloads", "0"], ["set", "max_active_downloads", "many"],
        ["set", "max_active_downloads", "2.5"], ["set", "max_active_seeds", "-2"], ["set", "max_active_seeds", "+4"],
        ["set", "max_active_downloads", "unlimitted"], ["set", "stall_timeout", "9"],
        ["set", "peer_send_queue_limit", "1K"], ["set", "peer_memory_limit", "lots"],
        ["set", "colour", "blue"], ["get", "colour"], ["unset", "colour"], ["set", "stall_timeout"],
        ["set", "encryption", "always"],
        ["set", "rpc_port", "0"], ["set", "rpc_bind_address", "nas"], ["set", "rpc_whitelist", "a/b"],
        ["set", "rpc_web_dir", "/no/such/folder"], ["set", "rpc_username", "a\u{7}b"],
    ])
    func badKeysAndValuesAreUsageErrors(_ arguments: [String]) throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        #expect(try btq.run(["config", "set", "stall_timeout", "30"]).status == 0)
        let result = try btq.run(["config"] + arguments)
        #expect(result.status == 64)
        if arguments.contains("colour") { #expect(result.stderr.contains("max_active_downloads, max_active_seeds")) }
        #expect(try btq.run(["config", "get", "stall_timeout"]).stdout == "30\n")
        #expect(try btq.run(["config", "get", "max_active_downloads"]).stdout == "3\n")
    }

    /// `encryption` takes prefer, require or disable (any case), stored lowercase, and the daemon's
    /// settings read it back.
    @Test func encryptionSetting() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        #expect(try btq.run(["config", "get", "encryption"]).stdout == "prefer\n")
        let set = try btq.run(["config", "set", "encryption", " Require"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(try btq.run(["config", "get", "encryption"]).stdout == "require\n")
        #expect(TransferSettings(values: ["encryption": "require"]).encryption == .require)
        #expect(TransferSettings(values: ["encryption": "bogus"]).encryption == .prefer)
        #expect(TransferSettings().encryption == .prefer)
        let bad = try btq.run(["config", "set", "encryption", "sometimes"])
        #expect(bad.status == 64 && bad.stderr.contains("prefer, require, disable"), "\(bad.stderr)")
    }

    /// The RPC password is stored salted and hashed, never shown; the other RPC settings are checked.
    @Test func rpcPasswordIsStoredHashedAndNeverShown() throws {
        let btq = try BtqProcess()
        defer { btq.cleanUp() }
        let set = try btq.run(["config", "set", "rpc_password", "hunter2 hunter2"])
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout == "rpc_password = (set)\n")
        #expect(try btq.run(["config", "get", "rpc_password"]).stdout == "(set)\n")
        let all = try btq.run(["config", "get"]).stdout
        #expect(!all.contains("hunter2") && !all.contains("sha256:"))
        let stored = try #require(try BtqStore(path: btq.database).settings.value("rpc_password"))
        #expect(stored.hasPrefix("sha256:") && !stored.contains("hunter2"))
        #expect(RPCPassword(stored: stored)?.matches("hunter2 hunter2") == true)
        #expect(
            try btq.run(["config", "set", "rpc_whitelist", "NAS.lan, *.home"]).stdout
                == "rpc_whitelist = nas.lan,*.home\n")
        #expect(try btq.run(["config", "unset", "rpc_password"]).status == 0)
        #expect(try btq.run(["config", "get", "rpc_password"]).stdout == "\n")
    }
}
