import Engine
import Foundation
import Store

/// Follows the `rpc_*` settings while `btq run` serves the RPC, as the queue manager follows the
/// others: a change made with `btq config set` is read within a second and put in force without a
/// restart (``RPCServer/apply(_:)``): the user name, password, whitelist and web folder for the next
/// request, a new address or port by listening there and closing the old socket (unless `--rpc-port`
/// fixed the port). Settings that may not be served (a non-loopback address without a password) or an
/// address that cannot be bound leave the server as it was; `rpc_enabled` is read only when `btq run`
/// starts. Each change is logged on stderr.
struct RPCSettingsFollower: Sendable {
    let store: BtqStore
    let server: RPCServer
    /// The port `--rpc-port` gave, which the setting does not change.
    let portOverride: Int?
    /// How often the settings are read.
    var interval = Duration.seconds(1)

    /// Reads the settings every ``interval`` until cancelled, starting from `current` (the ones the
    /// server started with).
    func run(from current: RPCSettings) async {
        var last = current
        var enabled = (try? store.settings.value(RPCSettings.enabledKey)) ?? nil
        var damaged = false
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard !Task.isCancelled else { return }
            let nowEnabled = (try? store.settings.value(RPCSettings.enabledKey)) ?? nil
            if nowEnabled != enabled {
                enabled = nowEnabled
                Self.log("rpc_enabled changed: it is read when btq run starts (--rpc serves the RPC whatever it says)")
            }
            var wanted: RPCSettings
            do {
                wanted = try RPCStarting.settings(store)
                damaged = false
            } catch {
                if !damaged { Self.log("the RPC settings cannot be read (\(error)); the server keeps its own") }
                damaged = true
                continue
            }
            if let portOverride { wanted.port = portOverride }
            guard wanted != last else { continue }
            let applied = await server.apply(wanted)
            last = wanted
            if let refusal = applied.refusal {
                let state =
                    server.port == 0
                    ? "the RPC server no longer listens (restart btq run)"
                    : "the RPC server keeps its previous settings on \(server.settings.url)rpc"
                Self.log("the new RPC settings were not applied: \(refusal); \(state)")
                continue
            }
            if applied.rebound { Self.log("the Transmission RPC now listens on \(wanted.url)rpc") }
            if applied.accessChanged {
                let auth = wanted.password == nil ? "no password" : "basic authentication"
                Self.log("the RPC's access settings changed (\(auth)); in force from the next request")
            }
        }
    }

    private static func log(_ line: String) {
        FileHandle.standardError.write(Data("btq: \(line)\n".utf8))
    }
}
