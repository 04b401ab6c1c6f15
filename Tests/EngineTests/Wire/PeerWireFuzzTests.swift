import NIOCore
import Testing

@testable import Engine

/// Seeded random and mutated input: the decoders must produce a message, ask for more bytes, or
/// throw a ``PeerWireError``, never crash or throw anything else; every decoded message must
/// re-encode to exactly the bytes it was decoded from; and the state machine must take any
/// message sequence.
@Suite(.timeLimit(.minutes(5))) struct PeerWireFuzzTests {
    private static let seeds: [[UInt8]] = WireVector.all.map(\.bytes)

    private static func mutatedInput(_ rng: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8]
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if Bool.random(using: &rng), bytes.count >= 4 { bytes[0...2] = [0, 0, 0] }
        case 1:
            bytes = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                bytes[Int.random(in: bytes.indices, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
        case 2:
            bytes = seeds.randomElement(using: &rng)!
            bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
        case 3:
            bytes = seeds.randomElement(using: &rng)!
            let length =
                Bool.random(using: &rng)
                ? UInt32.random(in: 0...40, using: &rng) : UInt32.random(in: 0...UInt32.max, using: &rng)
            bytes[0...3] = [
                UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8),
                UInt8(truncatingIfNeeded: length),
            ]
        case 4:
            bytes = (0..<Int.random(in: 2...4, using: &rng)).flatMap { _ in seeds.randomElement(using: &rng)! }
            bytes[Int.random(in: bytes.indices, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
        default:
            bytes = seeds.randomElement(using: &rng)!
            if bytes.count > 4 { bytes[4] = UInt8.random(in: 0...30, using: &rng) }
        }
        return bytes
    }

    @Test func randomAndMutatedFramesDecodeOrFailCleanly() {
        var rng = SplitMix64(seed: 0x5EED_0B70)
        var machine = PeerConnectionStateMachine(
            configuration: .init(pieceCount: 20, pieceLength: 65536, fastExtension: true, extensionProtocol: true))
        var (messages, incomplete, errors, violations) = (0, 0, 0, 0)
        for iteration in 0..<50_000 {
            let input = Self.mutatedInput(&rng)
            var bytes = ByteBuffer(bytes: input)
            var decoder = PeerMessageDecoder(maxFrameLength: 64)
            while true {
                let start = bytes.readerIndex
                do {
                    guard let message = try decoder.decode(buffer: &bytes) else {
                        incomplete += 1
                        if bytes.readerIndex != start { Issue.record("reader index moved on nil, input \(input)") }
                        break
                    }
                    messages += 1
                    var encoded = ByteBuffer()
                    encoded.writePeerMessage(message)
                    if Array(encoded.readableBytesView) != Array(input[start..<bytes.readerIndex]) {
                        Issue.record("\(message) does not re-encode to its bytes, input \(input)")
                    }
                    let now = NIODeadline.uptimeNanoseconds(UInt64(iteration))
                    if case .protocolViolation = machine.receive(message, now: now) { violations += 1 }
                } catch is PeerWireError {
                    errors += 1
                    if bytes.readerIndex != start { Issue.record("reader index moved on error, input \(input)") }
                    break
                } catch {
                    Issue.record("untyped error \(error) for input \(input)")
                    break
                }
            }
        }
        #expect(messages > 10_000)
        #expect(incomplete > 1_000)
        #expect(errors > 1_000)
        #expect(violations > 0)
        #expect(machine.peerPieces.cardinality <= 20)
    }

    @Test func mutatedHandshakesDecodeOrFailCleanly() {
        var rng = SplitMix64(seed: 0xBAD_5EED)
        var (handshakes, errors) = (0, 0)
        for _ in 0..<10_000 {
            var input = sampleHandshakeBytes + Self.mutatedInput(&rng)
            if Bool.random(using: &rng) {
                input[Int.random(in: 0..<68, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            input = Array(input.prefix(Int.random(in: 0...input.count, using: &rng)))
            var bytes = ByteBuffer(bytes: input)
            var decoder = PeerWireDecoder(maxFrameLength: 64)
            do {
                while let frame = try decoder.decode(buffer: &bytes) {
                    if case .handshake = frame { handshakes += 1 }
                }
            } catch is PeerWireError {
                errors += 1
            } catch {
                Issue.record("untyped error \(error) for input \(input)")
            }
        }
        #expect(handshakes > 1_000)
        #expect(errors > 100)
    }
}
