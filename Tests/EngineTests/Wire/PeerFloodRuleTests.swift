import NIOCore
import Testing

@testable import Engine

/// The state machine drops a peer that floods us with messages whose only effect is work for us:
/// requests while choked, and `have` for pieces it announced already.
@Suite(.timeLimit(.minutes(5))) struct PeerFloodRuleTests {
    static let now = NIODeadline.uptimeNanoseconds(0)

    static func machine(
        fast: Bool, maxRequestsWhileChoked: Int = 5, maxRedundantHaves: Int = 3
    )
        -> PeerConnectionStateMachine
    {
        PeerConnectionStateMachine(
            configuration: .init(
                pieceCount: 10, pieceLength: 32 * 1024, fastExtension: fast, maxPeerRequests: 500,
                maxRequestsWhileChoked: maxRequestsWhileChoked, maxRedundantHaves: maxRedundantHaves))
    }

    static func request(_ n: Int) -> BlockRequest {
        BlockRequest(piece: PieceIndex(n % 10), begin: 0, length: 16384)
    }

    @Test(arguments: [true, false])
    func requestsWhileChokedAreRefusedUpToTheLimitThenThePeerIsDropped(fast: Bool) {
        var machine = Self.machine(fast: fast)
        for n in 0..<5 {
            let action = machine.receive(.request(Self.request(n)), now: Self.now)
            #expect(action == (fast ? .send(.rejectRequest(Self.request(n))) : .none))
        }
        #expect(
            machine.receive(.request(Self.request(5)), now: Self.now)
                == .protocolViolation(.requestsWhileChoked(limit: 5)))
    }

    @Test func anUnchokeStartsTheCountAfresh() {
        var machine = Self.machine(fast: true)
        for n in 0..<5 { _ = machine.receive(.request(Self.request(n)), now: Self.now) }
        #expect(machine.unchoke() == .unchoke)
        #expect(machine.receive(.request(Self.request(0)), now: Self.now) == .peerRequested(Self.request(0)))
        // Choked again: the requests that cross this choke are counted from zero.
        _ = machine.choke()
        for n in 1..<6 {
            #expect(machine.receive(.request(Self.request(n)), now: Self.now) == .send(.rejectRequest(Self.request(n))))
        }
        #expect(
            machine.receive(.request(Self.request(6)), now: Self.now)
                == .protocolViolation(.requestsWhileChoked(limit: 5)))
    }

    @Test func requestsServedWhileUnchokedAreNeverCounted() {
        var machine = Self.machine(fast: true)
        #expect(machine.unchoke() == .unchoke)
        for n in 0..<50 {
            let request = Self.request(n)
            #expect(machine.receive(.request(request), now: Self.now) == .peerRequested(request))
            #expect(machine.blockReady(for: request, block: ByteBuffer(repeating: 0, count: 16384)) != nil)
        }
    }

    @Test func repeatedHavesAreToleratedUpToTheLimitThenThePeerIsDropped() {
        var machine = Self.machine(fast: false)
        for piece in 0..<10 {
            #expect(machine.receive(.have(PieceIndex(piece)), now: Self.now) == .peerHasPiece(PieceIndex(piece)))
        }
        for piece in 0..<3 {
            #expect(
                machine.receive(.have(PieceIndex(piece)), now: Self.now)
                    == PeerConnectionStateMachine.ReceiveAction.none)
        }
        #expect(machine.receive(.have(3), now: Self.now) == .protocolViolation(.redundantHaves(limit: 3)))
    }

    @Test func aHaveForAPieceInTheBitfieldIsRedundant() {
        var machine = Self.machine(fast: false, maxRedundantHaves: 0)
        _ = machine.receive(.bitfield(ByteBuffer(bytes: [0x80, 0x00])), now: Self.now)
        #expect(machine.receive(.have(1), now: Self.now) == .peerHasPiece(1))
        #expect(machine.receive(.have(0), now: Self.now) == .protocolViolation(.redundantHaves(limit: 0)))
    }

    @Test func theViolationsSayWhatHappened() {
        #expect(PeerProtocolViolation.requestsWhileChoked(limit: 7).description == "more than 7 requests while choked")
        #expect(
            PeerProtocolViolation.redundantHaves(limit: 9).description
                == "more than 9 have messages for pieces it had announced already")
    }
}
