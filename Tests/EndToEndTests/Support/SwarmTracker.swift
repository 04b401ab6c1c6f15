import Foundation
import TestSupport

/// `Support/swarm_tracker.py` on a loopback address: a minimal HTTP tracker that hands out IPv4 peers
/// in `peers` and IPv6 peers in `peers6`. The IPv6 tests use it because the installed opentracker
/// is built for IPv4 only.
struct SwarmTracker: Sendable {
    let process: ChildProcess
    /// The address it listens on (`127.0.0.1` or `::1`).
    let host: String
    let port: UInt16
    /// Rewritten after each announce: info-hash (hex) to the addresses it hands out.
    let swarmFile: URL

    /// `http://[::1]:PORT/announce` (or with the IPv4 address).
    var announce: String {
        host.contains(":") ? "http://[\(host)]:\(port)/announce" : "http://\(host):\(port)/announce"
    }

    /// Starts it on `host` and waits until it listens. `scrape` is how it answers scrapes: `none` (a
    /// failure reason), `multi` (every hash asked that it knows), `first` (only the first hash asked).
    static func start(
        in scenario: Scenario, host: String = "::1", scrape: String = "none"
    ) async throws
        -> SwarmTracker
    {
        let port = try FreePort.next()
        let work = try scenario.folder("swarm-tracker-\(port)")
        let swarm = work.appendingPathComponent("swarm.json")
        let child = try scenario.start(
            "swarm tracker", E2E.python,
            [
                E2E.supportDirectory.appendingPathComponent("swarm_tracker.py").path, "--host", host, "--port",
                "\(port)", "--swarm", swarm.path, "--timeout", "900", "--scrape", scrape,
            ])
        try await child.waitUntil("its swarm file (listening)", timeout: E2E.startTimeout) {
            FileManager.default.fileExists(atPath: swarm.path)
        }
        return SwarmTracker(process: child, host: host, port: port, swarmFile: swarm)
    }

    /// The number of hashes asked in each scrape it answered, in order.
    func scrapeRequests() -> [Int] {
        let text = (try? String(contentsOf: URL(fileURLWithPath: swarmFile.path + ".scrapes"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { Int($0) }
    }

    /// The addresses it knows for `torrent` (`[::1]:PORT` for IPv6 peers).
    func peers(of torrent: TestTorrent) -> [String] {
        guard let data = try? Data(contentsOf: swarmFile),
            let swarms = try? JSONDecoder().decode([String: [String]].self, from: data)
        else { return [] }
        return swarms[torrent.metainfo.infoHashes.v1?.hex ?? ""] ?? []
    }
}

extension E2E {
    /// Makes sure `::1` is up on `lo` in this namespace: enables IPv6 on `lo` when it is off (a
    /// namespace may start with it disabled), and fails when the kernel has no IPv6 at all.
    static func requireIPv6Loopback() async throws {
        func hasLoopback() -> Bool {
            let text = (try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8)) ?? ""
            return text.split(separator: "\n").contains {
                $0.hasPrefix("00000000000000000000000000000001") && $0.hasSuffix(" lo")
            }
        }
        if hasLoopback() { return }
        try? "0\n".write(
            toFile: "/proc/sys/net/ipv6/conf/lo/disable_ipv6", atomically: false, encoding: .utf8)
        let up = try await poll(timeout: .seconds(5)) { hasLoopback() }
        guard up else {
            throw NamespaceError("::1 is not up on lo, and enabling IPv6 on lo did not bring it up")
        }
    }
}
