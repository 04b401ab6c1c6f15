import Foundation
import Testing

/// Switches and shared facts for the end-to-end tests.
///
/// These tests start real BitTorrent programs (opentracker, libtorrent, transmission-daemon) and
/// `btq` itself, all on 127.0.0.1. They run only when `BTQ_E2E=1`, which `scripts/test` sets inside a
/// network namespace whose only interface is `lo`; see ``requireLoopbackOnlyNamespace()``.
enum E2E {
    /// True when `BTQ_E2E=1`.
    static let isEnabled = ProcessInfo.processInfo.environment["BTQ_E2E"] == "1"

    /// Bound for one download by `btq get` (the acceptance torrents are 8 to 64 MiB on loopback).
    static let downloadTimeout: Duration = .seconds(120)
    /// Bound for a helper program to become ready (listening, hash-checked).
    static let startTimeout: Duration = .seconds(30)

    /// Debian's interpreter: python3-libtorrent lives in its dist-packages, not in other Pythons'.
    static let python = "/usr/bin/python3"

    /// `Tests/EndToEndTests/Support`, where the helper scripts live.
    static let supportDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Support")

    /// The network interfaces of this process's network namespace.
    ///
    /// Read from `/proc/self/net/dev`, not `/sys/class/net`: sysfs shows the interfaces of the
    /// namespace that mounted it, so after a plain `unshare --net` it still lists the host's.
    static func interfaces() throws -> [String] {
        let text = try String(contentsOfFile: "/proc/self/net/dev", encoding: .utf8)
        return text.split(separator: "\n").dropFirst(2).compactMap { line in
            line.split(separator: ":", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) }
        }
    }

    /// Fails loudly unless this process is in a network namespace whose only interface is `lo`.
    ///
    /// Every end-to-end test calls this first: no swarm test may ever run where a wrong setting
    /// could reach a real network.
    static func requireLoopbackOnlyNamespace() throws {
        let names = try interfaces()
        guard names == ["lo"] else {
            throw NamespaceError(
                "BTQ_E2E=1 but this process is not in a loopback-only network namespace (interfaces: "
                    + "\(names.joined(separator: ", "))). Run the tests through scripts/test, or by hand as root: "
                    + "unshare --net bash -c 'ip link set lo up; BTQ_E2E=1 swift test --skip-build'")
        }
    }

    struct NamespaceError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
