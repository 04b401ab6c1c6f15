import Engine
import FuzzSupport
import NIOCore

/// The fuzz target proper: libFuzzer calls it with one input at a time.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    PeerStateMachineFuzzTarget.run(FuzzInput(data, size))
    return 0
}

/// Fuzzes ``PeerConnectionStateMachine`` with a script read from the input: a configuration, then steps
/// that either feed it a message the peer sent (a frame decoded from the input, or a message built
/// from a few bytes so that blocks, rejects and haves hit our own requests) or make a local move
/// (request, cancel, choke, unchoke, interest, serve or refuse a queued request). After every step the
/// machine's promises must hold: bounded queues, actions that match the state, no crash.
@main
enum PeerStateMachineFuzzTarget {
    static func main() {
        FuzzDriver.run(fuzzTestOneInput)
    }

    static let maxSteps = 4096

    /// Blocks are slices of this (a request is at most 16 KiB + 1 long here): filling a new block at every
    /// step was a good part of the target's time.
    static let zeroes = ByteBuffer(repeating: 0, count: 32 * 1024)

    static func run(_ input: FuzzInput) {
        var input = input
        let pieceLengths: [UInt32] = [16 * 1024, 32 * 1024, 256 * 1024, 1 << 24, 1, 16 * 1024 + 1]
        let configuration = PeerConnectionStateMachine.Configuration(
            pieceCount: input.number(below: 2049),
            pieceLength: pieceLengths[Int(input.byte()) % pieceLengths.count],
            fastExtension: input.flag(),
            extensionProtocol: input.flag(),
            maxPeerRequests: 1 + Int(input.byte() % 64),
            maxCancelledRequests: 1 + Int(input.byte() % 16),
            maxRequestsWhileChoked: Int(input.byte() % 32),
            maxRedundantHaves: Int(input.byte() % 16)
        )
        var machine = PeerConnectionStateMachine(configuration: configuration)
        var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var steps = 0
        while !input.isEmpty, steps < maxSteps {
            steps += 1
            now = now + .milliseconds(Int64(input.byte()))
            let operation = input.byte()
            switch operation % 16 {
            case 0, 1, 2, 3:
                guard let message = decodeFrame(from: &input) else { return }
                receive(message, into: &machine, now: now)
            case 4, 5, 6, 7:
                receive(buildMessage(from: &input, configuration), into: &machine, now: now)
            case 8, 9:
                let request = smallRequest(from: &input, configuration)
                let sent = machine.request(request, now: now)
                FuzzCheck.require(
                    sent == nil || machine.outstandingRequests.contains(request), "a sent request is kept")
            case 10:
                let request = pickOutstanding(from: &input, machine) ?? smallRequest(from: &input, configuration)
                _ = machine.cancel(request)
                FuzzCheck.require(!machine.outstandingRequests.contains(request), "a cancelled request is gone")
            case 11:
                let sent = machine.choke()
                FuzzCheck.require(machine.amChoking && machine.peerRequests.isEmpty, "choking drops the queue")
                FuzzCheck.require(
                    configuration.fastExtension || sent.count <= 1, "rejects are sent only with the Fast extension")
            case 12:
                _ = machine.unchoke()
                FuzzCheck.require(!machine.amChoking, "unchoked")
            case 13:
                _ = machine.setInterested(input.flag())
            case 14:
                guard let request = pickQueued(from: &input, machine) else { continue }
                let block = zeroes.getSlice(at: 0, length: Int(request.length))!
                let sent = machine.blockReady(for: request, block: block)
                FuzzCheck.require(sent != nil && !machine.peerRequests.contains(request), "a served request is gone")
            default:
                guard let request = pickQueued(from: &input, machine) else { continue }
                let sent = machine.refuse(request)
                FuzzCheck.require((sent != nil) == configuration.fastExtension, "a refusal is sent only with Fast")
            }
            FuzzCheck.require(
                machine.peerRequests.count <= configuration.maxPeerRequests, "the peer's queue is bounded")
            FuzzCheck.require(
                machine.peerPieces.count == configuration.pieceCount, "the peer's bitfield fits the torrent")
            FuzzCheck.require(
                !machine.outstandingRequests.isEmpty || !machine.isSnubbed(now: now, timeout: .zero),
                "a peer we await nothing from is not snubbing us")
        }
    }

    static func receive(_ message: PeerMessage, into machine: inout PeerConnectionStateMachine, now: NIODeadline) {
        let configuration = machine.configuration
        let action = machine.receive(message, now: now)
        switch action {
        case .peerRequested(let request):
            FuzzCheck.require(request.piece.intValue < configuration.pieceCount, "a queued request is in range")
            FuzzCheck.require(
                request.length > 0 && request.length <= configuration.maxRequestLength, "a queued request's length")
            FuzzCheck.require(
                UInt64(request.begin) + UInt64(request.length) <= UInt64(configuration.pieceLength),
                "a queued request ends inside the piece")
            FuzzCheck.require(!machine.amChoking && machine.peerRequests.contains(request), "the request is queued")
            FuzzCheck.require(Set(machine.peerRequests).count == machine.peerRequests.count, "no request queued twice")
        case .blockReceived(let request, let block):
            FuzzCheck.require(block.readableBytes == Int(request.length), "the block has the request's length")
            FuzzCheck.require(!machine.outstandingRequests.contains(request), "a received block is no longer awaited")
        case .send(let reply):
            guard case .rejectRequest = reply else {
                FuzzCheck.require(false, "the machine only ever sends rejects on its own: \(reply)")
                return
            }
            FuzzCheck.require(configuration.fastExtension, "rejects only with the Fast extension")
        case .peerChoked(let dropped):
            FuzzCheck.require(machine.peerChoking, "choked")
            if !configuration.fastExtension {
                FuzzCheck.require(machine.outstandingRequests.isEmpty, "a choke drops our requests")
                FuzzCheck.require(Set(dropped).count == dropped.count, "each dropped request once")
            }
        case .peerHasPiece(let piece), .peerSuggestedPiece(let piece), .peerAllowedFast(let piece):
            FuzzCheck.require(piece.intValue < configuration.pieceCount, "a piece hint is in range")
        case .peerBitfield(let bitfield):
            FuzzCheck.require(bitfield.count == configuration.pieceCount, "the bitfield fits the torrent")
        case .extended:
            FuzzCheck.require(configuration.extensionProtocol, "extended messages only when negotiated")
        case .protocolViolation(let violation):
            if violation == .requestsWhileChoked(limit: configuration.maxRequestsWhileChoked) {
                FuzzCheck.require(machine.amChoking, "only a choked peer's requests count against that limit")
            }
            if violation == .redundantHaves(limit: configuration.maxRedundantHaves) {
                guard case .have(let piece) = message else {
                    FuzzCheck.require(false, "only a have is a redundant have")
                    return
                }
                FuzzCheck.require(machine.peerPieces.contains(piece), "a redundant have names a piece the peer has")
            }
        case .none, .peerUnchoked, .peerInterested, .peerNotInterested, .requestRejected, .peerCancelled,
            .peerDHTPort:
            break
        }
    }

    /// One frame read from the input with the wire decoder, as a peer would send it.
    static func decodeFrame(from input: inout FuzzInput) -> PeerMessage? {
        let maxFrameLength = PeerMessageDecoder.maxFrameLength(pieceCount: 2048)
        // Only the frame's own bytes are copied (its length prefix says how many): copying the rest of
        // the input at every step would make long scripts quadratic.
        let remaining = input.remaining
        let announced = remaining.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        var buffer = ByteBuffer(bytes: remaining.prefix(4 + min(announced, maxFrameLength + 1)))
        guard let message = try? buffer.readPeerMessage(maxFrameLength: maxFrameLength) else { return nil }
        input.skip(buffer.readerIndex)
        return message
    }

    /// A message built from a few bytes, with pieces and offsets from small ranges so that it often
    /// matches the state (our requests, the peer's queue, the torrent's pieces).
    static func buildMessage(
        from input: inout FuzzInput, _ configuration: PeerConnectionStateMachine.Configuration
    ) -> PeerMessage {
        let piece = PieceIndex(input.number(below: configuration.pieceCount + 2))
        switch input.byte() % 14 {
        case 0: return .choke
        case 1: return .unchoke
        case 2: return .interested
        case 3: return .notInterested
        case 4: return .have(piece)
        case 5: return .request(smallRequest(from: &input, configuration))
        case 6:
            let request = smallRequest(from: &input, configuration)
            return .piece(
                index: request.piece, begin: request.begin,
                block: zeroes.getSlice(at: 0, length: Int(request.length))!)
        case 7: return .cancel(smallRequest(from: &input, configuration))
        case 8: return .rejectRequest(smallRequest(from: &input, configuration))
        case 9: return .haveAll
        case 10: return .haveNone
        case 11: return .allowedFast(piece)
        case 12: return .suggestPiece(piece)
        default:
            let count = PeerBitfield.byteCount(forPieceCount: configuration.pieceCount)
            var bytes = [UInt8](repeating: input.byte(), count: count)
            if input.flag(), !bytes.isEmpty { bytes[bytes.count - 1] = 0 }
            return .bitfield(ByteBuffer(bytes: bytes))
        }
    }

    /// A request for a block of one of the first pieces, at one of the first offsets.
    static func smallRequest(
        from input: inout FuzzInput, _ configuration: PeerConnectionStateMachine.Configuration
    ) -> BlockRequest {
        let piece = PieceIndex(Int(input.byte()) % (configuration.pieceCount + 1))
        let choice = input.byte()
        let begin = UInt32(choice % 4) * 16 * 1024
        let lengths: [UInt32] = [16 * 1024, 1, 8 * 1024, 16 * 1024 + 1, 0]
        return BlockRequest(piece: piece, begin: begin, length: lengths[Int(choice >> 2) % lengths.count])
    }

    static func pickOutstanding(from input: inout FuzzInput, _ machine: PeerConnectionStateMachine) -> BlockRequest? {
        let requests = machine.outstandingRequests.sorted()
        guard !requests.isEmpty else { return nil }
        return requests[Int(input.byte()) % requests.count]
    }

    static func pickQueued(from input: inout FuzzInput, _ machine: PeerConnectionStateMachine) -> BlockRequest? {
        guard !machine.peerRequests.isEmpty else { return nil }
        let queued = Array(machine.peerRequests)
        return queued[Int(input.byte()) % queued.count]
    }
}
