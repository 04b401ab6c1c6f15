import Foundation
import TestSupport
import Testing

/// What `/metrics` of `btq run --rpc` says of the running DHT: the nodes of its routing table, once it
/// has bootstrapped from a libtorrent DHT network on loopback.
@Suite("the RPC's metrics", .enabled(if: E2E.isEnabled), .serialized, .timeLimit(.minutes(10)))
struct RPCMetricsTests {
    @Test func theDHTNodeCountIsTheRunningTables() async {
        await Scenario.run { scenario in
            let network = try await LibtorrentDHT.start(in: scenario)
            let btq = try Btq(scenario)
            try btq.useDHT(bootstrap: nil)
            let off = try await RPCDaemon.start(btq)
            let before = try await off.metrics()
            scenario.expect(before["btq_dht_nodes"] == 0, "no DHT, no nodes: \(before)")
            await off.process.stop()

            try btq.useDHT(bootstrap: [network.bootstrapNode])
            let daemon = try await RPCDaemon.start(btq)
            // The network has 4 libtorrent nodes on 127.0.0.2...; btq's table learns them from the first.
            var last: [String: Double] = [:]
            let learned = try await poll(timeout: .seconds(90), interval: .milliseconds(500)) {
                last = try await daemon.metrics()
                return (last["btq_dht_nodes"] ?? 0) >= 1
            }
            scenario.expect(learned, "btq_dht_nodes counts the nodes its table learned: \(last)")
            scenario.expect((last["btq_dht_nodes"] ?? 0) <= 4, "no more nodes than the network has: \(last)")
        }
    }
}
