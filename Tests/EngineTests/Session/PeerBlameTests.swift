import Testing

@testable import Engine

/// Blame for pieces that fail their hash, kept with each sender's address: a lone sender is banned at
/// once, a peer that shares bad pieces only once its share is large against what it helped pass, and
/// smart ban gives an honest sender its share back.
@Suite struct PeerBlameTests {
    static let address = PeerAddress(host: .ipv4(10, 0, 0, 1), port: 6881)

    static func table() -> PeerCandidateTable {
        PeerCandidateTable(
            limits: .init(
                capacity: 100, pexCapacity: 30, maxFailures: 4, retryDelay: .seconds(1), failureDelay: .seconds(1)))
    }

    @Test func aLoneSenderIsBannedAtOnceAndRemembered() {
        var table = Self.table()
        let blame = table.blame(Self.address, source: .incoming, senders: 1, threshold: 3)
        #expect(blame == .init(hashFailures: 1, deservesBan: true))
        // Not known before: it is now, from where it came, with its share.
        #expect(table[Self.address]?.source == .incoming && table[Self.address]?.blame == 1)
    }

    @Test func aSharedSenderIsBannedOnceItsShareReachesTheThreshold() {
        var table = Self.table()
        var blames: [PeerCandidateTable.Blame] = []
        for _ in 0..<6 { blames.append(table.blame(Self.address, source: .tracker, senders: 2, threshold: 3)) }
        #expect(blames.map(\.hashFailures) == [1, 2, 3, 4, 5, 6])
        #expect(blames.map(\.deservesBan) == [false, false, false, false, false, true])
        #expect(table[Self.address]?.blame == 3)
    }

    @Test func piecesHelpedPassOutweighAShare() {
        var table = Self.table()
        table.add([Self.address], source: .tracker, notBefore: .now)
        for _ in 0..<6 { table.piecePassed(from: Self.address) }
        #expect(table[Self.address]?.piecesPassed == 6)
        var banned = false
        for _ in 0..<6 { banned = table.blame(Self.address, source: .tracker, senders: 2, threshold: 3).deservesBan }
        // A share of 3 is not more than half of the 6 pieces it helped pass.
        #expect(!banned)
        #expect(table.blame(Self.address, source: .tracker, senders: 2, threshold: 3).deservesBan)
    }

    @Test func clearedSendersGetTheirShareBack() {
        var table = Self.table()
        _ = table.blame(Self.address, source: .tracker, senders: 2, threshold: 3)
        _ = table.blame(Self.address, source: .tracker, senders: 2, threshold: 3)
        let stranger = PeerAddress(host: .ipv4(10, 0, 0, 2), port: 6881)
        table.clear([Self.address, stranger], share: 0.5)
        #expect(table[Self.address]?.blame == 0.5)
        #expect(table[stranger] == nil)
        table.clear([Self.address], share: 2)
        #expect(table[Self.address]?.blame == 0)
        // What was counted stays counted.
        #expect(table[Self.address]?.hashFailures == 2)
    }

    @Test func banRule() {
        #expect(PeerCandidateTable.deservesBan(senders: 1, blame: 1, piecesPassed: 100, threshold: 3))
        // Half the blame of three shared pieces: an honest peer next to a liar is not banned for them.
        #expect(!PeerCandidateTable.deservesBan(senders: 2, blame: 1.5, piecesPassed: 0, threshold: 3))
        #expect(PeerCandidateTable.deservesBan(senders: 2, blame: 3, piecesPassed: 5, threshold: 3))
        #expect(!PeerCandidateTable.deservesBan(senders: 2, blame: 3, piecesPassed: 6, threshold: 3))
    }
}
