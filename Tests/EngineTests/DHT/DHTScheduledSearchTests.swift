import Synchronization
import TestSupport
import Testing

@testable import Engine

/// A torrent's DHT search as a scheduler job (no task between lookups): it finds a peer announced through
/// another node, asks whether to go on before its first lookup, and ends, job and all, when stopped.
@Suite(.timeLimit(.minutes(1))) struct DHTScheduledSearchTests {
    @Test func aScheduledSearchFindsAnAnnouncedPeerAndEndsWhenStopped() async throws {
        let nodes = try await MainlineDHTTests.network(.ipv4, count: 4)
        defer { Task { for node in nodes { await node.close() } } }
        let infoHash = (0..<20).map { _ in UInt8.random(in: 0...255) }
        let expected = PeerAddress(host: .ipv4(127, 0, 0, 1), port: 51_413)
        // Announced through one node (tried again on a loaded machine, where a query may time out).
        let announced = try await poll(timeout: .seconds(30), interval: .milliseconds(100)) {
            _ = await MainlineDHTTests.lookUp(infoHash, from: nodes[1], announcing: expected.port)
            return await MainlineDHTTests.lookUp(infoHash, from: nodes[2]) == [expected]
        }
        try #require(announced)

        let scheduler = Scheduler()
        let found = Mutex<[PeerAddress]>([])
        let search = DHTScheduledSearch.start(
            on: scheduler, DHTNodes([nodes[3]]), infoHash: infoHash, announcePort: nil, goOn: { true },
            shortOfPeers: { true }
        ) { peers in
            found.withLock { $0 += peers }
        }
        #expect(try await poll(timeout: .seconds(30)) { found.withLock { $0.contains(expected) } })
        #expect(search.lookups >= 1)
        // Between lookups the search is only its job's deadline; stopped, the job is gone.
        #expect(scheduler.jobCount == 1)
        await search.stop()
        #expect(scheduler.jobCount == 0)
    }

    @Test func aSearchToldNotToGoOnLooksNothingUpAndEnds() async throws {
        let scheduler = Scheduler()
        let asked = Mutex(false)
        let search = DHTScheduledSearch.start(
            on: scheduler, DHTNodes([]), infoHash: [UInt8](repeating: 7, count: 20), announcePort: nil,
            goOn: {
                asked.withLock { $0 = true }
                return false
            },
            shortOfPeers: { true }, found: { _ in })
        #expect(try await poll(timeout: .seconds(10)) { scheduler.jobCount == 0 })
        #expect(asked.withLock { $0 })
        #expect(search.lookups == 0)
        await search.stop()
    }

    /// Stopped before its first run, a search never looks anything up.
    @Test func aSearchStoppedAtOnceNeverRuns() async {
        let scheduler = Scheduler(drives: false)
        let search = DHTScheduledSearch.start(
            on: scheduler, DHTNodes([]), infoHash: [UInt8](repeating: 8, count: 20), announcePort: nil,
            goOn: { true }, shortOfPeers: { true }, found: { _ in })
        await search.stop()
        #expect(scheduler.jobCount == 0)
        scheduler.runDue(now: .now + .seconds(1))
        #expect(search.lookups == 0)
    }
}
