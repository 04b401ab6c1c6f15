import Foundation
import TestSupport
import Testing

/// The stock Transmission web interface served by `btq run --rpc`, used as a person uses it: in headless
/// Chromium driven over the DevTools protocol (`Support/web_add_magnet.py`), the toolbar's open button,
/// a magnet typed into the dialog's URL field, its upload button; the torrent is then in `btq list`.
@Suite("the web interface's add form", .enabled(if: E2E.isEnabled), .serialized, .timeLimit(.minutes(10)))
struct RPCWebFormTests {
    @Test func aMagnetAddedThroughThePagesFormIsInBtqList() async {
        await Scenario.run { scenario in
            let (daemon, btq, _) = try await RPCDaemon.startForTheWebInterface(
                scenario, seeding: "form-test.bin", size: 200_000)
            let chromium = RPCDaemon.chromium

            // A magnet of a torrent nobody has (no tracker, the DHT off): it waits for its metadata.
            let hash = String(repeating: "5e", count: 20)
            let name = "added-through-the-form"
            let magnet = "magnet:?xt=urn:btih:\(hash)&dn=\(name)"
            let screenshot = scenario.path("web-form.png")
            let driven = try await scenario.runTool(
                "web form", E2E.python,
                [
                    E2E.supportDirectory.appendingPathComponent("web_add_magnet.py").path, "--chromium", chromium,
                    "--url", "http://127.0.0.1:\(daemon.port)/transmission/web/", "--auth",
                    "\(RPCDaemon.user):\(RPCDaemon.password)", "--magnet", magnet, "--expect-rows", "1", "--profile",
                    try scenario.folder("chromium-profile").path, "--screenshot", screenshot.path, "--timeout", "60",
                ], timeout: .seconds(180))
            scenario.expect(driven.status == 0, "the page's form added the magnet: \(driven.output)")
            scenario.expect(driven.output.contains(name), "the page lists it by its name: \(driven.output)")

            let list = try await btq.run(["list", "--json"])
            scenario.expect(list.contains(hash), "btq list --json shows the magnet:\n\(list)")
            scenario.expect(list.contains(name), "with the name the magnet gives:\n\(list)")
            let record = try btq.store().queries.torrents().first { $0.infoHashV1 == hash }
            scenario.expect(record?.isMagnet == true, "added as a magnet: \(String(describing: record))")
            scenario.expect(
                record.map { [.queued, .fetchingMetadata].contains($0.state) } == true,
                "started (the dialog's start box is on by default): \(String(describing: record?.state))")
            let size = (try? FileManager.default.attributesOfItem(atPath: screenshot.path)[.size] as? Int) ?? 0
            scenario.expect(size > 10_000, "a screenshot of the page (\(size) bytes)")
            if let kept = ProcessInfo.processInfo.environment["BTQ_E2E_FORM_SCREENSHOT"] {
                try? FileManager.default.removeItem(atPath: kept)
                try FileManager.default.copyItem(atPath: screenshot.path, toPath: kept)
            }
        }
    }
}
