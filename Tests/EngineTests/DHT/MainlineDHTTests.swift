import Foundation
import NIOPosix
import TestSupport
import Testing

@testable import Engine

/// DHT nodes on real UDP sockets on loopback, each family (BEP 5 over IPv4, BEP 32 over IPv6): nodes
/// that bootstrap from one another, a peer announced through one found through another, and the
/// table saved and restored.
@Suite(.timeLimit(.minutes(1))) struct MainlineDHTTests {
    /// A state store in memory.
    final class MemoryStateStore: DHTStateStore, @unchecked Sendable {
        private let lock = NSLock()
        private var states: [DHTFamily: DHTSavedState] = [:]

        func loadDHTState(family: DHTFamily) throws -> DHTSavedState? {
            lock.withLock { states[family] }
        }

        func saveDHTState(_ state: DHTSavedState) throws {
            lock.withLock { states[state.family] = state }
        }
    }

    /// Whether this machine has ::1 (a UDP socket binds there).
    static func hasIPv6Loopback() async -> Bool {
        do {
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "::1", port: 0).get()
            try? await channel.close().get()
            return true
        } catch {
            return false
        }
    }

    /// Starts `count` nodes of `family` on loopback, each bootstrapping from the first once it knows the
    /// ones before, and runs them.
    static func network(
        _ family: DHTFamily, count: Int, store: (any DHTStateStore)? = nil
    ) async throws
        -> [MainlineDHT]
    {
        let host = family == .ipv4 ? "127.0.0.1" : "::1"
        var nodes: [MainlineDHT] = []
        for index in 0..<count {
            var configuration = MainlineDHT.Configuration(family: family, host: host, port: 0)
            configuration.tickInterval = .milliseconds(50)
            if let first = nodes.first { configuration.bootstrapNodes = [first.address] }
            let node = try await MainlineDHT.start(configuration, store: index == count - 1 ? store : nil)
            Task { await node.run() }
            nodes.append(node)
            // The first node takes a newcomer once it answered its ping: the next one to join hears
            // of the ones before from it.
            guard index > 0 else { continue }
            let first = nodes[0]
            let known = try await poll(timeout: .seconds(10), interval: .milliseconds(20)) {
                await first.nodeCount >= index
            }
            #expect(known, "the first node knows the \(index) that joined")
        }
        return nodes
    }

    /// Every peer a lookup of `infoHash` from `node` finds.
    static func lookUp(
        _ infoHash: [UInt8], from node: MainlineDHT, announcing port: UInt16? = nil
    ) async
        -> [PeerAddress]
    {
        var found: [PeerAddress] = []
        for await batch in await node.lookup(infoHash: infoHash, announcePort: port) { found += batch }
        return found
    }

    @Test(arguments: [DHTFamily.ipv4, .ipv6])
    func aPeerAnnouncedThroughOneNodeIsFoundThroughAnother(family: DHTFamily) async throws {
        if family == .ipv6, !(await Self.hasIPv6Loopback()) {
            print("[skip] no ::1 on this machine: the IPv6 case is not run")
            return
        }
        let nodes = try await Self.network(family, count: 6)
        // Every node knows the first, which answers with the others.
        let joined = try await poll(timeout: .seconds(20), interval: .milliseconds(50)) {
            for node in nodes.dropFirst() where await node.nodeCount == 0 { return false }
            let first = await nodes[0].nodeCount
            return first >= 5
        }
        #expect(joined)
        let infoHash = (0..<20).map { _ in UInt8.random(in: 0...255) }
        let expected = PeerAddress(
            host: family == .ipv4 ? .ipv4(127, 0, 0, 1) : .ipv6([UInt8](repeating: 0, count: 15) + [1]), port: 51_413)
        // A query that waits over 3 s counts as failed: on a loaded machine a lookup may miss a node,
        // and the announce and the lookup are tried again, as a torrent's search does.
        var found: [PeerAddress] = []
        let announced = try await poll(timeout: .seconds(30), interval: .milliseconds(100)) {
            #expect(await Self.lookUp(infoHash, from: nodes[3], announcing: 51_413).allSatisfy { $0 == expected })
            found = await Self.lookUp(infoHash, from: nodes[5])
            return !found.isEmpty
        }
        #expect(announced && found == [expected])
        let status = await nodes[0].status()
        #expect(status.packetsIn > 0 && status.queriesAnswered > 0 && status.address.hasSuffix(":\(nodes[0].port)"))
        for node in nodes { await node.close() }
    }

    /// More lookups at once than the node runs at once (a daemon with many torrents starting): the
    /// others wait their turn instead of ending at once without asking anybody.
    @Test func lookupsBeyondTheSlotsWaitTheirTurn() async throws {
        let nodes = try await Self.network(.ipv4, count: 5)
        let joined = try await poll(timeout: .seconds(20), interval: .milliseconds(50)) {
            await nodes[4].nodeCount >= 4
        }
        #expect(joined)
        let asker = nodes[4]
        let before = await asker.status().packetsOut
        let count = MainlineDHT.lookupSlots * 2 + 5
        // Each lookup asks each of the 4 other nodes once (fewer than K): 4 queries a lookup, whether
        // the others answer or (over their rate for one address) let it time out.
        let ended = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<count {
                group.addTask {
                    _ = await Self.lookUp((0..<20).map { _ in UInt8.random(in: 0...255) }, from: asker)
                    return 1
                }
            }
            return await group.reduce(0, +)
        }
        #expect(ended == count)
        let sent = await asker.status().packetsOut - before
        #expect(sent >= Int64(4 * count), "\(sent) queries for \(count) lookups")
        for node in nodes { await node.close() }
    }

    @Test func theIdAndTableAreSavedAndComeBackWithoutBootstrapNodes() async throws {
        let store = MemoryStateStore()
        let nodes = try await Self.network(.ipv4, count: 4, store: store)
        let last = nodes[3]
        let joined = try await poll(timeout: .seconds(20), interval: .milliseconds(50)) {
            await last.nodeCount >= 3
        }
        #expect(joined)
        let id = await last.id
        await last.close()
        let saved = try #require(try store.loadDHTState(family: .ipv4))
        #expect(saved.id == id && saved.nodes.count >= 3)
        #expect(saved.status.nodeID == id.description)

        // No bootstrap node: the saved table is all it has, and it finds the others through it.
        let restarted = try await MainlineDHT.start(
            MainlineDHT.Configuration(family: .ipv4, host: "127.0.0.1", port: 0), store: store)
        Task { await restarted.run() }
        #expect(await restarted.id == id)
        let infoHash = (0..<20).map { _ in UInt8.random(in: 0...255) }
        var found: [PeerAddress] = []
        let announced = try await poll(timeout: .seconds(30), interval: .milliseconds(100)) {
            _ = await Self.lookUp(infoHash, from: nodes[1], announcing: 7_000)
            found = await Self.lookUp(infoHash, from: restarted)
            return !found.isEmpty
        }
        #expect(announced && found == [PeerAddress(host: .ipv4(127, 0, 0, 1), port: 7_000)])
        await restarted.close()
        for node in nodes.prefix(3) { await node.close() }
    }
}
