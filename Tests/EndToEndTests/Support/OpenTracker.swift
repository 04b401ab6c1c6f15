import Engine
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// opentracker on 127.0.0.1, HTTP and UDP on one port.
///
/// Debian builds opentracker in whitelist mode: it only tracks the info-hashes listed in its access
/// list (v1 hashes, and the first 20 bytes of v2 hashes, which is what v2 clients announce). It also
/// hands every announcing peer back its own address, so clients must spot self-connections.
/// Make one with ``init(_:)`` (which reserves the port, so torrents can name the announce URLs), then
/// ``start(whitelisting:)`` once the torrents exist.
final class OpenTracker: Sendable {
    let scenario: Scenario
    /// The TCP and UDP port.
    let port: UInt16

    /// `http://127.0.0.1:PORT/announce`
    var httpAnnounce: String { "http://127.0.0.1:\(port)/announce" }
    /// `udp://127.0.0.1:PORT/announce`
    var udpAnnounce: String { "udp://127.0.0.1:\(port)/announce" }

    init(_ scenario: Scenario) throws {
        self.scenario = scenario
        port = try FreePort.next(udp: true)
    }

    /// Starts it with an access list of `torrents`, in its own root folder, and waits until it answers
    /// an announce for the first of them (so the list is loaded, not merely the port open).
    @discardableResult
    func start(whitelisting torrents: [TestTorrent]) async throws -> ChildProcess {
        let root = try scenario.folder("opentracker-\(port)")
        let lines = torrents.flatMap(\.whitelistEntries)
        try (lines.joined(separator: "\n") + "\n").write(
            to: root.appendingPathComponent("whitelist.txt"), atomically: true, encoding: .utf8)
        // It chroots into its root folder and drops to an unprivileged user, which must still read it.
        chmod(root.path, 0o755)
        chmod(scenario.directory.path, 0o755)
        chmod(root.appendingPathComponent("whitelist.txt").path, 0o644)
        let config = """
            access.stats 127.0.0.1
            access.whitelist ./whitelist.txt
            tracker.rootdir \(root.path)
            tracker.user \(Self.unprivilegedUser)

            """
        let configURL = root.appendingPathComponent("opentracker.conf")
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        let child = try scenario.start(
            "opentracker", "/usr/bin/opentracker",
            ["-i", "127.0.0.1", "-p", "\(port)", "-P", "\(port)", "-f", configURL.path], directory: root)
        guard let first = torrents.first?.metainfo.infoHashes.wireHash else { return child }
        let probe =
            "/announce?info_hash=\(Self.percentEncoded(first))&peer_id=-E2E000-probeprobepr"
            + "&port=9&uploaded=0&downloaded=0&left=0&compact=1&numwant=0&event=stopped"
        do {
            try await child.waitUntil("an announce reply that whitelists the torrent", timeout: E2E.startTimeout) {
                guard FreePort.isAccepting(self.port) else { return false }
                let reply = (try? LoopbackConnection.httpGet(port: self.port, path: probe)) ?? ""
                return reply.contains("200 OK") && !reply.contains("failure reason")
            }
        } catch {
            throw HarnessError(
                "\(error)\n(opentracker switches to the user `\(Self.unprivilegedUser)` and refuses to run as uid 0: "
                    + "as root in a user namespace that maps only root, it cannot start; scripts/test maps the "
                    + "current user instead)")
        }
        return child
    }

    /// The user opentracker switches to: `nobody` for a real root, else the current user (in a user
    /// namespace made by `unshare --map-current-user`, no other user exists; and opentracker refuses
    /// to keep running as uid 0).
    static var unprivilegedUser: String {
        let uid = getuid()
        if uid == 0 { return "nobody" }
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return "nobody" }
        return String(cString: name)
    }

    /// `%XX` for every byte: how a binary info-hash goes into an announce URL.
    static func percentEncoded(_ bytes: [UInt8]) -> String {
        bytes.map { "%" + String($0, radix: 16, uppercase: true).leftPadded(to: 2) }.joined()
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
