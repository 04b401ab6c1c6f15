import NIOCore
import Testing

@testable import Engine

/// The queue of a peer's requests: arrival order, constant-time lookup and removal, bounded slots
/// under churn, and the cap the state machine puts on it.
@Suite(.timeLimit(.minutes(5))) struct PeerRequestQueueTests {
    static func request(_ number: Int) -> BlockRequest {
        BlockRequest(piece: PieceIndex(UInt32(number / 4)), begin: UInt32(number % 4) * 16_384, length: 16_384)
    }

    @Test func keepsArrivalOrderAndRefusesDuplicates() {
        var queue = PeerRequestQueue()
        #expect(queue.isEmpty && queue.first == nil)
        for number in [5, 1, 9, 1] { queue.append(Self.request(number)) }
        #expect(Array(queue) == [5, 1, 9].map(Self.request))
        #expect(queue.count == 3 && queue.first == Self.request(5))
        #expect(queue.contains(Self.request(9)) && !queue.contains(Self.request(2)))
        let removed = queue.remove(Self.request(1))
        let again = queue.remove(Self.request(1))
        let oldest = queue.remove(Self.request(5))
        #expect(removed && !again && oldest)
        #expect(queue.first == Self.request(9) && Array(queue) == [Self.request(9)])
        queue.append(Self.request(1))
        #expect(Array(queue) == [9, 1].map(Self.request))
        #expect(queue.removeAll() == [9, 1].map(Self.request))
        #expect(queue.isEmpty && queue.first == nil)
    }

    /// Cancels in any order, as a peer may send them, leave no more empty slots than about twice the
    /// live requests, so memory follows what is queued and not what was ever queued.
    @Test func churnKeepsTheSlotsBounded() {
        var queue = PeerRequestQueue()
        var random = SplitMix64(seed: 10)
        var live: [Int] = []
        var next = 0
        for _ in 0..<200_000 {
            if live.count < 2000, random.next() % 3 != 0 {
                queue.append(Self.request(next))
                live.append(next)
                next += 1
            } else if !live.isEmpty {
                let position = Int(random.next() % UInt64(live.count))
                let removed = queue.remove(Self.request(live.remove(at: position)))
                #expect(removed)
            }
            #expect(queue.slotCount <= 2 * queue.count + 33)
        }
        #expect(Array(queue) == live.map(Self.request))
    }

    @Test func theMachineCapsThePeersQueueAndCancelsFindTheirRequest() {
        let configuration = PeerConnectionStateMachine.Configuration(
            pieceCount: 1000, pieceLength: 65_536, fastExtension: true, maxPeerRequests: 2000)
        var machine = PeerConnectionStateMachine(configuration: configuration)
        let now = NIODeadline.uptimeNanoseconds(0)
        _ = machine.unchoke()
        for number in 0..<2000 {
            let action = machine.receive(.request(Self.request(number)), now: now)
            #expect(action == .peerRequested(Self.request(number)))
        }
        let over = Self.request(2000)
        let refused = machine.receive(.request(over), now: now)
        #expect(refused == .send(.rejectRequest(over)))
        #expect(machine.peerRequests.count == 2000)
        // A duplicate is neither queued twice nor rejected.
        let duplicate = machine.receive(.request(Self.request(7)), now: now)
        #expect(duplicate == PeerConnectionStateMachine.ReceiveAction.none)
        // Cancels anywhere in the queue find their request; a second cancel finds nothing.
        for number in stride(from: 1999, through: 0, by: -2) {
            let request = Self.request(number)
            let first = machine.receive(.cancel(request), now: now)
            let second = machine.receive(.cancel(request), now: now)
            #expect(first == .send(.rejectRequest(request)))
            #expect(second == PeerConnectionStateMachine.ReceiveAction.none)
        }
        #expect(machine.peerRequests.count == 1000 && machine.peerRequests.first == Self.request(0))
        #expect(machine.peerRequests.slotCount <= 2 * 1000 + 33)
    }
}
