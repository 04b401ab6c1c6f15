import NIOCore
import Testing

@testable import Engine

/// A torrent of 10 pieces of 32 KiB; blocks b0 and b1 make piece 1, b2 starts piece 2.
private let b0 = BlockRequest(piece: 1, begin: 0, length: 16384)
private let b1 = BlockRequest(piece: 1, begin: 16384, length: 16384)
private let b2 = BlockRequest(piece: 2, begin: 0, length: 16384)
/// The peer has pieces 1, 2 and 3.
private let has123 = PeerMessage.bitfield(buffer([0x70, 0x00]))
private let has123Action = Action.peerBitfield(PeerBitfield(bytes: [0x70, 0x00], count: 10)!)

private typealias Action = PeerConnectionStateMachine.ReceiveAction

private func piece(_ request: BlockRequest) -> PeerMessage {
    .piece(index: request.piece, begin: request.begin, block: block(Int(request.length)))
}

private func got(_ request: BlockRequest) -> Action {
    .blockReceived(request, block: block(Int(request.length)))
}

private func violation(_ violation: PeerProtocolViolation) -> Action { .protocolViolation(violation) }

/// One input to the state machine and the output expected from it.
enum Step: Sendable {
    case receive(PeerMessage, PeerConnectionStateMachine.ReceiveAction)
    case request(BlockRequest, PeerMessage?)
    case cancel(BlockRequest, PeerMessage?)
    case interested(Bool, PeerMessage?)
    case choke([PeerMessage])
    case unchoke(PeerMessage?)
    case serve(BlockRequest, PeerMessage?)
}

struct Scenario: Sendable, CustomTestStringConvertible {
    let name: String
    let configuration: PeerConnectionStateMachine.Configuration
    let steps: [Step]

    init(_ name: String, fast: Bool = false, ext: Bool = false, maxPeerRequests: Int = 500, _ steps: Step...) {
        self.name = name
        self.configuration = .init(
            pieceCount: 10, pieceLength: 32 * 1024, fastExtension: fast, extensionProtocol: ext,
            maxPeerRequests: maxPeerRequests)
        self.steps = steps
    }

    var testDescription: String { name }
}

private let opened: [Step] = [.receive(has123, has123Action), .receive(.unchoke, .peerUnchoked)]

private let scenarios: [Scenario] = [
    Scenario(
        "bitfield then haves", .receive(has123, has123Action), .receive(.have(4), .peerHasPiece(4)),
        .receive(.have(4), .none), .receive(.have(1), .none),
        .receive(.have(10), violation(.pieceIndexOutOfRange(messageID: 4, index: 10, pieceCount: 10)))),
    Scenario(
        "bitfield after a have", .receive(.have(1), .peerHasPiece(1)),
        .receive(has123, violation(.misplacedAvailability(messageID: 5)))),
    Scenario(
        "bitfield after unchoke", .receive(.unchoke, .peerUnchoked),
        .receive(has123, violation(.misplacedAvailability(messageID: 5)))),
    Scenario(
        "bitfield twice", .receive(has123, has123Action),
        .receive(has123, violation(.misplacedAvailability(messageID: 5)))),
    Scenario(
        "bitfield after extension handshake, port and keep-alive", ext: true,
        .receive(.extended(id: 0, payload: buffer([0x64])), .extended(id: 0, payload: buffer([0x64]))),
        .receive(.port(6881), .peerDHTPort(6881)), .receive(.keepAlive, .none),
        .receive(.unknown(id: 21, payload: buffer([])), .none),
        .receive(has123, has123Action)),
    Scenario(
        "bitfield of the wrong length",
        .receive(.bitfield(buffer([0x70])), violation(.bitfieldLengthMismatch(expected: 2, actual: 1)))),
    Scenario("bitfield with spare bits", .receive(.bitfield(buffer([0x70, 0x01])), violation(.bitfieldSpareBitsSet))),
    Scenario(
        "have all and have none need Fast",
        .receive(.haveAll, violation(.fastExtensionNotNegotiated(messageID: 14))),
        .receive(.haveNone, violation(.fastExtensionNotNegotiated(messageID: 15)))),
    Scenario(
        "have all, then have none is misplaced", fast: true, .receive(.haveAll, .peerBitfield(.full(count: 10))),
        .receive(.haveNone, violation(.misplacedAvailability(messageID: 15)))),
    Scenario(
        "have none, then have", fast: true, .receive(.haveNone, .peerBitfield(PeerBitfield(count: 10))),
        .receive(.have(2), .peerHasPiece(2))),
    Scenario(
        "choke and interest flags change once", .receive(.unchoke, .peerUnchoked), .receive(.unchoke, .none),
        .receive(.choke, .peerChoked(droppedRequests: [])), .receive(.choke, .none),
        .receive(.interested, .peerInterested), .receive(.interested, .none),
        .receive(.notInterested, .peerNotInterested), .receive(.notInterested, .none)),
    Scenario(
        "requests wait for unchoke and a piece the peer has", .receive(has123, has123Action), .request(b0, nil),
        .receive(.unchoke, .peerUnchoked), .request(b0, .request(b0)), .request(b0, nil),
        .request(BlockRequest(piece: 5, begin: 0, length: 16384), nil), .receive(piece(b0), got(b0)),
        .receive(piece(b0), violation(.unrequestedBlock(b0)))),
    Scenario(
        "a block of the wrong length was not requested", opened[0], opened[1], .request(b0, .request(b0)),
        .receive(
            .piece(index: 1, begin: 0, block: block(100)),
            violation(.unrequestedBlock(BlockRequest(piece: 1, begin: 0, length: 100))))),
    Scenario(
        "choke without Fast drops outstanding requests", opened[0], opened[1], .request(b2, .request(b2)),
        .request(b1, .request(b1)), .request(b0, .request(b0)),
        .receive(.choke, .peerChoked(droppedRequests: [b0, b1, b2])),
        .receive(piece(b0), violation(.unrequestedBlock(b0)))),
    Scenario(
        "choke with Fast keeps requests until rejected", fast: true, opened[0], opened[1],
        .request(b0, .request(b0)), .request(b1, .request(b1)), .receive(.choke, .peerChoked(droppedRequests: [])),
        .receive(.rejectRequest(b0), .requestRejected(b0)),
        .receive(.rejectRequest(b0), violation(.unrequestedReject(b0))), .receive(piece(b1), got(b1))),
    Scenario(
        "reject needs Fast", opened[0], opened[1], .request(b0, .request(b0)),
        .receive(.rejectRequest(b0), violation(.fastExtensionNotNegotiated(messageID: 16)))),
    Scenario(
        "a cancelled block may still arrive", opened[0], opened[1], .request(b0, .request(b0)),
        .cancel(b0, .cancel(b0)), .cancel(b0, nil), .receive(piece(b0), got(b0)),
        .receive(piece(b0), violation(.unrequestedBlock(b0)))),
    Scenario(
        "a cancelled request may be rejected under Fast", fast: true, opened[0], opened[1],
        .request(b0, .request(b0)), .cancel(b0, .cancel(b0)), .receive(.rejectRequest(b0), .none)),
    Scenario(
        "peer requests: ignored while choked, served after unchoke", .receive(.request(b0), .none),
        .unchoke(.unchoke), .unchoke(nil), .receive(.request(b0), .peerRequested(b0)), .receive(.request(b0), .none),
        .serve(b0, piece(b0)), .serve(b0, nil)),
    Scenario(
        "peer requests while choked are rejected under Fast", fast: true,
        .receive(.request(b0), .send(.rejectRequest(b0)))),
    Scenario(
        "invalid peer requests", .unchoke(.unchoke),
        .receive(
            .request(BlockRequest(piece: 10, begin: 0, length: 16)),
            violation(.invalidRequest(BlockRequest(piece: 10, begin: 0, length: 16)))),
        .receive(
            .request(BlockRequest(piece: 1, begin: 0, length: 0)),
            violation(.invalidRequest(BlockRequest(piece: 1, begin: 0, length: 0)))),
        .receive(
            .request(BlockRequest(piece: 1, begin: 0, length: 16385)),
            violation(.invalidRequest(BlockRequest(piece: 1, begin: 0, length: 16385)))),
        .receive(
            .request(BlockRequest(piece: 1, begin: 24576, length: 16384)),
            violation(.invalidRequest(BlockRequest(piece: 1, begin: 24576, length: 16384)))),
        .receive(
            .request(BlockRequest(piece: 1, begin: UInt32.max, length: 16384)),
            violation(.invalidRequest(BlockRequest(piece: 1, begin: UInt32.max, length: 16384)))),
        .receive(.request(b1), .peerRequested(b1))),
    Scenario(
        "peer cancel without Fast", .unchoke(.unchoke), .receive(.request(b0), .peerRequested(b0)),
        .receive(.cancel(b0), .peerCancelled(b0)), .serve(b0, nil), .receive(.cancel(b0), .none)),
    Scenario(
        "peer cancel under Fast is answered with a reject", fast: true, .unchoke(.unchoke),
        .receive(.request(b0), .peerRequested(b0)), .receive(.cancel(b0), .send(.rejectRequest(b0)))),
    Scenario(
        "our choke rejects queued requests under Fast", fast: true, .unchoke(.unchoke),
        .receive(.request(b0), .peerRequested(b0)), .receive(.request(b1), .peerRequested(b1)),
        .choke([.choke, .rejectRequest(b0), .rejectRequest(b1)]), .choke([]), .serve(b0, nil)),
    Scenario(
        "our choke discards queued requests without Fast", .unchoke(.unchoke),
        .receive(.request(b0), .peerRequested(b0)), .choke([.choke]), .serve(b0, nil)),
    Scenario(
        "allowed fast lets us request while choked", fast: true, .receive(has123, has123Action),
        .receive(.allowedFast(2), .peerAllowedFast(2)), .request(b2, .request(b2)), .request(b0, nil),
        .receive(.allowedFast(10), violation(.pieceIndexOutOfRange(messageID: 17, index: 10, pieceCount: 10)))),
    Scenario(
        "allowed fast and suggest need Fast",
        .receive(.allowedFast(2), violation(.fastExtensionNotNegotiated(messageID: 17))),
        .receive(.suggestPiece(2), violation(.fastExtensionNotNegotiated(messageID: 13)))),
    Scenario(
        "suggest piece", fast: true, .receive(.suggestPiece(3), .peerSuggestedPiece(3)),
        .receive(.suggestPiece(11), violation(.pieceIndexOutOfRange(messageID: 13, index: 11, pieceCount: 10)))),
    Scenario(
        "extended needs the extension protocol",
        .receive(.extended(id: 0, payload: buffer([])), violation(.extensionProtocolNotNegotiated))),
    Scenario(
        "our interest changes once", .interested(true, .interested), .interested(true, nil),
        .interested(false, .notInterested), .interested(false, nil)),
    Scenario(
        "the peer's request queue is bounded under Fast", fast: true, maxPeerRequests: 2, .unchoke(.unchoke),
        .receive(.request(b0), .peerRequested(b0)), .receive(.request(b1), .peerRequested(b1)),
        .receive(.request(b2), .send(.rejectRequest(b2)))),
    Scenario(
        "the peer's request queue is bounded without Fast: past it the peer is dropped", maxPeerRequests: 1,
        .unchoke(.unchoke), .receive(.request(b0), .peerRequested(b0)), .receive(.request(b0), .none),
        .receive(.request(b1), violation(.tooManyRequests(limit: 1)))),
]

@Suite(.timeLimit(.minutes(5))) struct PeerConnectionStateMachineTests {
    @Test(arguments: scenarios)
    func scenario(_ scenario: Scenario) {
        var machine = PeerConnectionStateMachine(configuration: scenario.configuration)
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for (number, step) in scenario.steps.enumerated() {
            switch step {
            case .receive(let message, let expected):
                let actual = machine.receive(message, now: now)
                #expect(actual == expected, "step \(number): receive \(message)")
            case .request(let request, let expected):
                let actual = machine.request(request, now: now)
                #expect(actual == expected, "step \(number): request \(request)")
            case .cancel(let request, let expected):
                let actual = machine.cancel(request)
                #expect(actual == expected, "step \(number): cancel \(request)")
            case .interested(let interested, let expected):
                let actual = machine.setInterested(interested)
                #expect(actual == expected, "step \(number): interested \(interested)")
            case .choke(let expected):
                let actual = machine.choke()
                #expect(actual == expected, "step \(number): choke")
            case .unchoke(let expected):
                let actual = machine.unchoke()
                #expect(actual == expected, "step \(number): unchoke")
            case .serve(let request, let expected):
                let message = machine.blockReady(for: request, block: block(Int(request.length)))
                #expect(message == expected, "step \(number): serve \(request)")
            }
        }
    }

    @Test func snubDetectionUsesTheLastBlock() {
        var machine = PeerConnectionStateMachine(configuration: .init(pieceCount: 10, pieceLength: 32 * 1024))
        let start = NIODeadline.uptimeNanoseconds(0)
        _ = machine.receive(has123, now: start)
        _ = machine.receive(.unchoke, now: start)
        #expect(!machine.isSnubbed(now: start + .seconds(100), timeout: .seconds(60)))
        _ = machine.request(b0, now: start)
        _ = machine.request(b1, now: start + .seconds(10))
        #expect(!machine.isSnubbed(now: start + .seconds(60), timeout: .seconds(60)))
        #expect(machine.isSnubbed(now: start + .seconds(61), timeout: .seconds(60)))
        _ = machine.receive(piece(b0), now: start + .seconds(50))
        #expect(machine.lastBlockReceived == start + .seconds(50))
        #expect(!machine.isSnubbed(now: start + .seconds(100), timeout: .seconds(60)))
        #expect(machine.isSnubbed(now: start + .seconds(111), timeout: .seconds(60)))
        _ = machine.receive(piece(b1), now: start + .seconds(120))
        #expect(!machine.isSnubbed(now: start + .seconds(500), timeout: .seconds(60)))
        #expect(machine.lastMessageReceived == start + .seconds(120))
    }

    @Test func stateIsVisibleToTheOwner() {
        var machine = PeerConnectionStateMachine(configuration: .init(pieceCount: 10, pieceLength: 32 * 1024))
        let now = NIODeadline.uptimeNanoseconds(0)
        #expect(machine.amChoking && !machine.amInterested && machine.peerChoking && !machine.peerInterested)
        _ = machine.receive(has123, now: now)
        _ = machine.receive(.unchoke, now: now)
        _ = machine.receive(.interested, now: now)
        _ = machine.unchoke()
        _ = machine.setInterested(true)
        _ = machine.request(b0, now: now)
        _ = machine.receive(.request(b2), now: now)
        #expect(!machine.amChoking && machine.amInterested && !machine.peerChoking && machine.peerInterested)
        #expect(machine.peerPieces.description == "0111000000")
        #expect(machine.outstandingRequests == [b0])
        #expect(machine.peerRequests == [b2])
        #expect(machine.canRequest(3) && !machine.canRequest(4))
    }

    @Test func extensionsAreThoseBothPeersAnnounce() {
        let cases: [(local: ReservedBits, remote: ReservedBits, fast: Bool, ext: Bool)] = [
            (.fast, .fast, true, false),
            ([.fast, .extensionProtocol], [.extensionProtocol], false, true),
            ([], [.fast, .extensionProtocol], false, false),
        ]
        for (local, remote, fast, ext) in cases {
            let configuration = PeerConnectionStateMachine.Configuration(
                pieceCount: 1, pieceLength: 16384, local: local, remote: remote)
            #expect(configuration.fastExtension == fast)
            #expect(configuration.extensionProtocol == ext)
        }
    }

    @Test func cancelledRequestsAreRememberedUpToALimit() {
        let configuration = PeerConnectionStateMachine.Configuration(
            pieceCount: 10, pieceLength: 1 << 20, maxCancelledRequests: 4)
        var machine = PeerConnectionStateMachine(configuration: configuration)
        let now = NIODeadline.uptimeNanoseconds(0)
        _ = machine.receive(.bitfield(buffer([0xFF, 0xC0])), now: now)
        _ = machine.receive(.unchoke, now: now)
        for n in 0..<10 {
            let request = BlockRequest(piece: 0, begin: UInt32(n) * 16384, length: 16384)
            let sent = [machine.request(request, now: now), machine.cancel(request)]
            #expect(sent == [.request(request), .cancel(request)])
        }
        #expect(machine.cancelledRequests.count == 4)
        #expect(machine.outstandingRequests.isEmpty)
    }

    @Test func violationsDescribeThemselves() {
        #expect(PeerProtocolViolation.unrequestedBlock(b0).description == "block 1:0+16384 was not requested")
        #expect(
            PeerProtocolViolation.bitfieldLengthMismatch(expected: 2, actual: 3).description
                == "bitfield of 3 bytes, expected 2")
    }
}
