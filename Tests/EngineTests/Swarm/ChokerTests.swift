import Testing

@testable import Engine

/// The choker as a pure state machine: regular slots by rate while leeching, in turn while seeding,
/// and a rotating optimistic unchoke, replayed exactly with a seeded random.
@Suite(.timeLimit(.minutes(5)))
struct ChokerTests {
    typealias Peer = Choker.Peer
    let t0 = ContinuousClock.now

    func peers(_ count: Int, interested: Bool = true) -> [Peer] {
        (0..<count).map { Peer(key: PeerKey($0), isInterested: interested) }
    }

    @Test func leechingUnchokesTheFastestSendersPlusOneOptimistic() {
        var choker = Choker(regularSlots: 2, random: SeededRandom(seed: 1))
        var facts = peers(6)
        for index in facts.indices { facts[index].downloadRate = Double(index * 1000) }
        let unchoked = choker.rechoke(facts, mode: .leeching, now: t0)
        #expect(unchoked.count == 3)
        #expect(unchoked.isSuperset(of: [5, 4]))
        let optimistic = try! #require(choker.optimistic)
        #expect(![PeerKey(5), PeerKey(4)].contains(optimistic))
        #expect(unchoked.contains(optimistic))
    }

    @Test func uninterestedPeersStayChoked() {
        var choker = Choker(regularSlots: 4, random: SeededRandom(seed: 2))
        var facts = peers(3, interested: false)
        facts[1].isInterested = true
        facts[2].downloadRate = 1e9
        #expect(choker.rechoke(facts, mode: .leeching, now: t0) == [1])
        #expect(choker.rechoke(peers(3, interested: false), mode: .seeding, now: t0).isEmpty)
    }

    @Test func fewerPeersThanSlotsAreAllUnchoked() {
        var choker = Choker(regularSlots: 4, random: SeededRandom(seed: 3))
        #expect(choker.rechoke(peers(3), mode: .leeching, now: t0) == [0, 1, 2])
        #expect(choker.rechoke(peers(5), mode: .seeding, now: t0) == [0, 1, 2, 3, 4])
    }

    @Test func optimisticSlotRotatesEveryThirdRound() {
        var choker = Choker(regularSlots: 1, optimisticRounds: 3, random: SeededRandom(seed: 4))
        var facts = peers(8)
        facts[0].downloadRate = 1e6
        var optimists: [PeerKey] = []
        for round in 0..<9 {
            let unchoked = choker.rechoke(facts, mode: .leeching, now: t0 + .seconds(10 * round))
            #expect(unchoked.count == 2 && unchoked.contains(0))
            optimists.append(choker.optimistic!)
        }
        // Held for three rounds at a time.
        for start in stride(from: 0, to: 9, by: 3) {
            #expect(Set(optimists[start..<start + 3]).count == 1)
        }
        #expect(Set(optimists).count > 1, "with 7 candidates the seeded choice moved: \(optimists)")
    }

    @Test func sameSeedSameChoices() {
        func run() -> [Set<PeerKey>] {
            var choker = Choker(regularSlots: 2, optimisticRounds: 1, random: SeededRandom(seed: 99))
            return (0..<6).map { choker.rechoke(peers(10), mode: .leeching, now: t0 + .seconds($0)) }
        }
        #expect(run() == run())
    }

    @Test func seedingRotatesFairlyThroughEveryInterestedPeer() {
        var choker = Choker(regularSlots: 2, random: SeededRandom(seed: 5))
        let keys = (0..<6).map { PeerKey($0) }
        var since: [PeerKey: ContinuousClock.Instant] = [:]
        var unchoked: Set<PeerKey> = []
        var turns: [PeerKey: Int] = [:]
        for round in 0..<12 {
            let now = t0 + .seconds(10 * round)
            // A fast peer keeps asking: it must not keep its slot for ever.
            let facts = keys.map { key in
                Peer(
                    key: key, isInterested: true, uploadRate: key == 0 ? 1e9 : 1e3,
                    isUnchoked: unchoked.contains(key), unchokedSince: since[key])
            }
            let next = choker.rechoke(facts, mode: .seeding, now: now)
            for key in next where !unchoked.contains(key) { since[key] = now }
            unchoked = next
            for key in next { turns[key, default: 0] += 1 }
        }
        #expect(turns.count == 6, "every peer got a turn: \(turns)")
        let counts = turns.values.sorted()
        // 12 rounds of 3 slots among 6 peers: 6 turns each on average; the random optimistic slot skews it a little.
        #expect(counts.first! >= 4 && counts.last! <= 8, "turns are shared evenly: \(turns)")
    }

    @Test func departedOptimistIsReplacedAtOnce() {
        var choker = Choker(regularSlots: 0, optimisticRounds: 3, random: SeededRandom(seed: 6))
        let first = choker.rechoke(peers(4), mode: .leeching, now: t0)
        let gone = try! #require(first.first)
        choker.peerLeft(gone)
        let rest = peers(4).filter { $0.key != gone }
        let second = choker.rechoke(rest, mode: .leeching, now: t0 + .seconds(10))
        #expect(second.count == 1 && !second.contains(gone))
        #expect(choker.hasFreeSlot(unchoked: 0) && !choker.hasFreeSlot(unchoked: 1))
    }
}

/// Token buckets: a burst, then the rate; debt shared in order; unlimited means no waiting.
@Suite(.timeLimit(.minutes(5)))
struct TokenBucketTests {
    let t0 = ContinuousClock.now

    @Test func unlimitedNeverWaits() {
        var bucket = TokenBucket(rate: 0, now: t0)
        #expect(bucket.reserve(1 << 30, now: t0) == .zero)
        #expect(!bucket.isLimited)
    }

    @Test func burstThenRate() {
        var bucket = TokenBucket(rate: 1_000_000, now: t0)
        #expect(bucket.capacity == 250_000)
        #expect(bucket.reserve(250_000, now: t0) == .zero)
        // 500 KB more at 1 MB/s: half a second of debt.
        #expect(bucket.reserve(500_000, now: t0) == .milliseconds(500))
        // A quarter second later a quarter of it is paid back.
        #expect(bucket.delay(now: t0 + .milliseconds(250)) == .milliseconds(250))
        #expect(bucket.delay(now: t0 + .seconds(1)) == .zero)
    }

    @Test func idleTimeRefillsOnlyUpToTheBurst() {
        var bucket = TokenBucket(rate: 100_000, now: t0)
        #expect(bucket.capacity == 25_000)
        #expect(bucket.reserve(25_000, now: t0 + .seconds(60)) == .zero)
        #expect(bucket.tokens == 0)
        #expect(bucket.reserve(10_000, now: t0 + .seconds(60)) == .milliseconds(100))
    }

    @Test func sustainedThroughputMatchesTheRate() {
        // A sender that always waits what it is told moves rate × time bytes (plus one burst).
        var bucket = TokenBucket(rate: 2_000_000, now: t0)
        var now = t0
        var sent = 0
        while now < t0 + .seconds(10) {
            now += bucket.reserve(16_384, now: now)
            sent += 16_384
        }
        let expected = 2_000_000 * 10 + TokenBucket.capacity(for: 2_000_000)
        #expect(abs(sent - expected) <= 16_384 * 2, "sent \(sent), expected about \(expected)")
    }

    @Test func changingTheRateKeepsTheDebt() {
        var bucket = TokenBucket(rate: 1_000_000, now: t0)
        _ = bucket.reserve(1_250_000, now: t0)
        bucket.setRate(2_000_000, now: t0)
        #expect(bucket.delay(now: t0) == .milliseconds(500))
        bucket.setRate(0, now: t0)
        #expect(bucket.delay(now: t0) == .zero)
    }
}
