import Testing

@testable import Engine

/// The table of addresses to dial: bounded against floods, forgets addresses that keep failing, and
/// backs off between failures. Pure values, with an explicit clock.
@Suite(.timeLimit(.minutes(5))) struct PeerCandidateTableTests {
    static func limits(capacity: Int = 100, pex: Int = 30, failures: Int = 4) -> PeerCandidateTable.Limits {
        .init(
            capacity: capacity, pexCapacity: pex, maxFailures: failures, retryDelay: .seconds(1),
            failureDelay: .seconds(10))
    }

    /// Distinct addresses 10.x.y.z:6881.
    static func addresses(_ count: Int, from start: Int = 0) -> [PeerAddress] {
        (start..<start + count).map { (index: Int) -> PeerAddress in
            let high = UInt8(truncatingIfNeeded: index >> 16)
            let middle = UInt8(truncatingIfNeeded: index >> 8)
            let low = UInt8(truncatingIfNeeded: index)
            return PeerAddress(host: .ipv4(10, high, middle, low), port: 6881)
        }
    }

    let now = ContinuousClock.now

    @Test func aFloodOfAddressesStopsAtTheCapacity() {
        var table = PeerCandidateTable(limits: Self.limits(capacity: 100, pex: 30))
        #expect(table.add(Self.addresses(10_000), source: .tracker, notBefore: now) == 100)
        #expect(table.count == 100)
        // Known addresses again, and more new ones: nothing grows.
        #expect(table.add(Self.addresses(10_000), source: .tracker, notBefore: now) == 0)
        #expect(table.add(Self.addresses(500, from: 20_000), source: .manual, notBefore: now) == 0)
        #expect(table.count == 100)
    }

    @Test func peerExchangeFillsOnlyItsShare() {
        var table = PeerCandidateTable(limits: Self.limits(capacity: 100, pex: 30))
        for round in 0..<50 {
            table.add(Self.addresses(200, from: round * 200), source: .pex, notBefore: now)
        }
        #expect(table.count == 30 && table.pexCount == 30)
        // Trackers still have room for the rest.
        #expect(table.add(Self.addresses(100, from: 50_000), source: .tracker, notBefore: now) == 70)
        #expect(table.count == 100 && table.pexCount == 30)
    }

    @Test func anAddressThatKeepsFailingIsForgotten() throws {
        var table = PeerCandidateTable(limits: Self.limits(failures: 4))
        let address = Self.addresses(1)[0]
        table.add([address], source: .tracker, notBefore: now)
        var clock = now
        for failure in 1...3 {
            #expect(table.takeDue(now: clock, room: 10) == [address])
            #expect(table.connectingCount == 1)
            table.closed(address, failed: true, now: clock)
            #expect(table.connectingCount == 0)
            let candidate = try #require(table[address])
            #expect(candidate.failures == failure)
            // libtorrent's back-off: (failures + 1) × the failure delay, 20, 30, 40 seconds.
            #expect(candidate.nextAttempt == clock + .seconds(10 * (failure + 1)))
            #expect(table.takeDue(now: candidate.nextAttempt - .milliseconds(1), room: 10).isEmpty)
            clock = candidate.nextAttempt
        }
        #expect(table.takeDue(now: clock, room: 10) == [address])
        table.closed(address, failed: true, now: clock)
        #expect(table[address] == nil, "forgotten after the fourth failure in a row")
        #expect(table.count == 0 && table.forgottenCount == 1)
        // The DHT listing it again does not bring it back. A tracker listing it at its next announce
        // gives it one more attempt, whose failure forgets it again.
        let announce = clock + .seconds(1800)
        #expect(table.add([address], source: .dht, notBefore: announce) == 0)
        #expect(table.add([address], source: .tracker, notBefore: announce) == 1)
        #expect(table[address]?.failures == 3)
        #expect(table.takeDue(now: announce, room: 10) == [address])
        table.closed(address, failed: true, now: announce)
        #expect(table[address] == nil && table.forgottenCount == 2 && table.rememberedForgottenCount == 1)
        // An hour after it was last forgotten, not after the first time, any source starts it over.
        #expect(table.add([address], source: .dht, notBefore: clock + .seconds(3600)) == 0)
        #expect(table.add([address], source: .dht, notBefore: announce + .seconds(3600)) == 1)
        #expect(table[address]?.failures == 0 && table.rememberedForgottenCount == 0)
    }

    /// The user's own address (`--peer`) is retried at the clean close's delay doubled per failure, and
    /// is never forgotten nor displaced by new addresses, however often it fails.
    @Test func theUsersAddressIsRetriedSoonerAndNeverForgotten() throws {
        var table = PeerCandidateTable(limits: Self.limits(capacity: 3, pex: 3, failures: 3))
        let mine = Self.addresses(1, from: 900)[0]
        table.add([mine], source: .manual, notBefore: now)
        var clock = now
        for failure in 1...8 {
            #expect(table.takeDue(now: clock, room: 10) == [mine])
            table.closed(mine, failed: true, now: clock)
            let candidate = try #require(table[mine], "still there after \(failure) failures")
            #expect(candidate.nextAttempt == clock + .seconds(1 << min(failure, 6)))
            clock = candidate.nextAttempt
        }
        // A flood of new addresses takes the other places, never the user's.
        table.add(Self.addresses(2), source: .tracker, notBefore: clock)
        for address in Self.addresses(2) { table.closed(address, failed: true, now: clock) }
        #expect(table.add(Self.addresses(10, from: 100), source: .tracker, notBefore: clock) == 2)
        #expect(table[mine] != nil && table.count == 3 && table.forgottenCount == 2)
    }

    /// A gone peer listed again by the DHT or peers costs nothing more while it is remembered; the user's
    /// word and a peer that connects to us are taken at once.
    @Test func aForgottenAddressIsRememberedForAWhile() {
        var table = PeerCandidateTable(limits: Self.limits(capacity: 10, pex: 10, failures: 1))
        let all = Self.addresses(4)
        table.add(all, source: .tracker, notBefore: now)
        for address in all { table.closed(address, failed: true, now: now) }
        #expect(table.count == 0 && table.rememberedForgottenCount == 4)
        for source: PeerUpdate.Source in [.dht, .pex, .lsd, .magnet] {
            #expect(table.add(all, source: source, notBefore: now + .seconds(60)) == 0)
        }
        #expect(table.add([all[0]], source: .manual, notBefore: now) == 1)
        #expect(table.add([all[1]], source: .incoming, notBefore: now) == 1)
        #expect(table.count == 2)
        // Forgotten again, the incoming peer's address is remembered from then on; the user's stays.
        table.closed(all[0], failed: true, now: now + .seconds(1000))
        table.closed(all[1], failed: true, now: now + .seconds(1000))
        #expect(table[all[0]]?.failures == 1 && table[all[1]] == nil)
        #expect(table.add(all, source: .dht, notBefore: now + .seconds(3600)) == 2, "all[2] and all[3]")
        #expect(table.add(all, source: .dht, notBefore: now + .seconds(4600)) == 1)
        #expect(table[all[1]] != nil)
    }

    /// The memory of forgotten addresses holds as many as the table does, the oldest let go first: a
    /// flood of dead addresses cannot grow it.
    @Test func theMemoryOfForgottenAddressesIsBounded() {
        var table = PeerCandidateTable(limits: Self.limits(capacity: 10, pex: 10, failures: 1))
        for round in 0..<50 {
            let batch = Self.addresses(10, from: round * 10)
            table.add(batch, source: .tracker, notBefore: now)
            _ = table.takeDue(now: now, room: 10)
            for address in batch { table.closed(address, failed: true, now: now + .seconds(round)) }
        }
        #expect(table.rememberedForgottenCount == 10 && table.forgottenCount == 500)
        // The last round's are remembered, the first's were let go.
        #expect(table.add(Self.addresses(10, from: 490), source: .pex, notBefore: now + .seconds(60)) == 0)
        #expect(table.add(Self.addresses(10), source: .pex, notBefore: now + .seconds(60)) == 10)
    }

    /// When attempts are scarce, addresses never failed go first, then those that failed least; an
    /// address taken and given back is due again as it was.
    @Test func freshAddressesGoFirstAndAGivenBackAddressIsDueAgain() {
        var table = PeerCandidateTable(limits: Self.limits(failures: 10))
        let all = Self.addresses(6)
        table.add(all, source: .tracker, notBefore: now)
        for (index, address) in all.enumerated() where index < 4 {
            for _ in 0...(3 - index) { table.failed(address) }
        }
        // Failures: all[0] 4, all[1] 3, all[2] 2, all[3] 1, all[4] and all[5] none.
        let first = table.takeDue(now: now, room: 3)
        #expect(Set(first) == [all[4], all[5], all[3]])
        let second = table.takeDue(now: now, room: 2)
        #expect(second == [all[2], all[1]])
        for address in second { table.release(address) }
        #expect(table.connectingCount == 3)
        #expect(table[all[2]]?.failures == 2 && table[all[2]]?.nextAttempt == now, "no failure counted")
        #expect(table.takeDue(now: now, room: 10) == [all[2], all[1], all[0]])
    }

    @Test func aHandshakeStartsTheFailuresOver() {
        var table = PeerCandidateTable(limits: Self.limits(failures: 3))
        let address = Self.addresses(1)[0]
        table.add([address], source: .tracker, notBefore: now)
        for _ in 0..<10 {
            _ = table.takeDue(now: .now + .seconds(1000), room: 1)
            table.closed(address, failed: true, now: now)
            table.connected(address)
            table.handshaken(address)
            table.closed(address, failed: false, now: now)
        }
        #expect(table[address]?.failures == 0, "failures count in a row only")
        #expect(table[address]?.nextAttempt == now + .seconds(1))
    }

    @Test func dueAddressesSkipBannedConnectedAndWaitingOnes() {
        var table = PeerCandidateTable(limits: Self.limits())
        let all = Self.addresses(6)
        table.add(all, source: .tracker, notBefore: now)
        table[all[0]]?.banned = true
        table.connected(all[1])
        table.closed(all[2], failed: true, now: now)  // waits 20 s
        let first = table.takeDue(now: now, room: 2)
        #expect(first.count == 2 && Set(first).isSubset(of: all[3...]))
        let second = table.takeDue(now: now, room: 10)
        #expect(Set(first + second) == Set(all[3...]))
        #expect(table.connectingCount == 3)
        #expect(table.takeDue(now: now + .seconds(19), room: 10).isEmpty)
        #expect(table.takeDue(now: now + .seconds(20), room: 10) == [all[2]])
        #expect(table.takeDue(now: now, room: 0).isEmpty)
    }

    /// One dialling policy for sessions and metadata fetches: room under both the peer limit (connected
    /// and connecting together) and the limit of attempts at once.
    @Test func dialingLeavesRoomForConnectedPeersAndCapsAttempts() {
        var table = PeerCandidateTable(limits: Self.limits())
        let all = Self.addresses(20)
        table.add(all, source: .tracker, notBefore: now)
        // 10 peers allowed, 7 connected: 3 may be dialled, though 5 attempts at once would be allowed.
        let first = table.takeDue(now: now, connected: 7, maxPeers: 10, maxConnecting: 5)
        #expect(first.count == 3 && table.connectingCount == 3)
        // Those 3 are still being connected: no room left.
        #expect(table.takeDue(now: now, connected: 7, maxPeers: 10, maxConnecting: 5).isEmpty)
        // Many peers allowed: the attempts at once are the limit (3 under way, 2 more).
        #expect(table.takeDue(now: now, connected: 0, maxPeers: 100, maxConnecting: 5).count == 2)
        #expect(table.connectingCount == 5)
        // A failed attempt frees its place, and its address waits out its back-off.
        table.closed(first[0], failed: true, now: now)
        let next = table.takeDue(now: now, connected: 0, maxPeers: 100, maxConnecting: 5)
        #expect(next.count == 1 && next[0] != first[0])
    }

    @Test func aFullTableTakesNewAddressesInPlaceOfFailingOnes() {
        var table = PeerCandidateTable(limits: Self.limits(capacity: 10, pex: 10))
        let first = Self.addresses(10)
        table.add(first, source: .tracker, notBefore: now)
        table.closed(first[3], failed: true, now: now)
        table.closed(first[7], failed: true, now: now)
        table.closed(first[7], failed: true, now: now)
        let fresh = Self.addresses(5, from: 100)
        #expect(table.add(fresh, source: .tracker, notBefore: now) == 2)
        #expect(table.count == 10)
        #expect(table[first[3]] == nil && table[first[7]] == nil)
        #expect(table[fresh[0]] != nil && table[fresh[1]] != nil && table[fresh[2]] == nil)
        #expect(table.forgottenCount == 2)
    }

    @Test func bansAreKeptAndNeverDisplaced() {
        var table = PeerCandidateTable(limits: Self.limits(capacity: 4, pex: 4, failures: 2))
        let all = Self.addresses(4)
        table.add(all, source: .tracker, notBefore: now)
        table.ban(all[0], source: .tracker)
        for _ in 0..<5 { table.closed(all[0], failed: true, now: now) }
        #expect(table[all[0]]?.banned == true, "a banned address stays, however often it failed")
        // A ban of an unknown address gets in even when the table is full of good addresses.
        let stranger = Self.addresses(1, from: 500)[0]
        table.ban(stranger, source: .incoming)
        #expect(table[stranger]?.banned == true)
        #expect(table.count == 5)
        // New addresses displace neither.
        table.add(Self.addresses(10, from: 1000), source: .tracker, notBefore: now)
        #expect(table[all[0]]?.banned == true && table[stranger]?.banned == true)
    }

    @Test func theCountsFollowEveryChange() {
        var table = PeerCandidateTable(limits: Self.limits(capacity: 50, pex: 50))
        let all = Self.addresses(20)
        table.add(all[..<10], source: .pex, notBefore: now)
        table.add(all[10...], source: .tracker, notBefore: now)
        _ = table.takeDue(now: now, room: 20)
        #expect(table.connectingCount == 20 && table.pexCount == 10)
        for address in all[..<5] { table[address] = nil }
        for address in all[5..<15] { table.closed(address, failed: false, now: now) }
        #expect(table.connectingCount == 5 && table.pexCount == 5 && table.count == 15)
        #expect(table.connectingCount == table.values.count(where: \.isConnecting))
        #expect(table.pexCount == table.values.count { $0.source == .pex })
    }

    /// The tables of a session and of a metadata fetch hold as many addresses as configured, however
    /// many come in.
    @Test func sessionAndFetcherTablesAreBounded() async {
        var configuration = TorrentSessionTests.quickConfiguration()
        configuration.maxPeerCandidates = 300
        let fixture = SessionFixture(length: 65_536, pieceLength: 32_768, seed: 3)
        let session = TorrentSession(
            metainfo: fixture.metainfo, storage: MemoryStorage(metainfo: fixture.metainfo),
            configuration: configuration)
        let fetcher = MetadataFetcher(infoHashes: fixture.metainfo.infoHashes, configuration: configuration)
        for round in 0..<20 {
            let batch = Self.addresses(1000, from: round * 1000)
            await session.addPeers(batch, source: .tracker)
            await fetcher.addPeers(batch, source: .pex)
        }
        #expect(await session.status().knownPeers == 300)
        #expect(await fetcher.status().knownPeers == min(ExtensionProtocol.maxPexCandidates, 300))
    }
}
