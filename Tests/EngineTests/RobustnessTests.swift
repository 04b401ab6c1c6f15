import Foundation
import Testing

@testable import Engine

/// Feeds the bencode and metainfo parsers inputs derived from the corpus: truncated, bit-flipped,
/// byte-mutated, spliced with hostile lengths, and plain random. Nothing may crash, hang or
/// allocate without bound; whatever is accepted must still have safe paths.
@Suite(.timeLimit(.minutes(5))) struct RobustnessTests {
    static let inputCount = 100_000

    /// What one shard of the run saw.
    struct Tally: Sendable {
        var inputs = 0
        var decoded = 0
        var accepted = 0
        var unsafePaths = 0
        var untypedErrors = 0
    }

    @Test func mutatedCorpusInputs() async throws {
        let shards = 2
        let start = ContinuousClock.now
        let tally = await withTaskGroup(of: Tally.self) { group in
            for shard in 0..<shards {
                // On threads of their own: two shards of CPU-bound work on the cooperative pool would
                // hold both of a two-core machine's threads for seconds and starve every other test.
                group.addTask {
                    await withCheckedContinuation { done in
                        DispatchQueue.global().async {
                            done.resume(
                                returning: Self.run(seed: 0x5EED_B7C0 + UInt64(shard), count: Self.inputCount / shards))
                        }
                    }
                }
            }
            return await group.reduce(into: Tally()) { total, part in
                total.inputs += part.inputs
                total.decoded += part.decoded
                total.accepted += part.accepted
                total.unsafePaths += part.unsafePaths
                total.untypedErrors += part.untypedErrors
            }
        }
        let elapsed = ContinuousClock.now - start
        print(
            "robustness: \(tally.inputs) inputs, \(tally.decoded) decoded as bencode, \(tally.accepted) accepted as "
                + "torrents, in \(elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
        #expect(tally.inputs >= Self.inputCount)
        #expect(tally.unsafePaths == 0)
        #expect(tally.untypedErrors == 0)
        #expect(tally.accepted > 0)
    }

    /// Parses `count` mutants drawn with a generator seeded with `seed`.
    static func run(seed: UInt64, count: Int) -> Tally {
        let corpus = ConformanceCorpus.allTorrents
        var random = SplitMix64(seed: seed)
        let strictDecoder = BencodeDecoder()
        var tally = Tally()
        for _ in 0..<count {
            let input = mutant(of: corpus[random.next(below: corpus.count)], using: &random)
            tally.inputs += 1
            // The metainfo parser runs the (lenient) bencode decoder on every input; the strict
            // decoder also gets the small ones (the large ones would only repeat the same work).
            if input.count <= 4096 { _ = try? strictDecoder.decode(input) }
            do {
                let metainfo = try Metainfo(bytes: input)
                tally.accepted += 1
                tally.decoded += 1
                if !isSafe(metainfo) { tally.unsafePaths += 1 }
            } catch let error as MetainfoError {
                if error.bencodeError == nil { tally.decoded += 1 }
            } catch {
                tally.untypedErrors += 1
            }
        }
        return tally
    }

    /// A declared string length far beyond the input fails at once, without allocating it.
    @Test(arguments: ["4611686018427387904:", "d4:info4611686018427387904:xe", "l9223372036854775807:e"])
    func hostileLengths(text: String) {
        #expect(throws: BencodeError.self) { try BencodeDecoder().decode(Array(text.utf8)) }
        #expect(throws: MetainfoError.self) { try Metainfo(bytes: Array(text.utf8)) }
    }

    // MARK: - Mutations

    static func mutant(of seed: [UInt8], using random: inout SplitMix64) -> [UInt8] {
        switch random.next(below: 10) {
        case 0, 1:
            return Array(seed.prefix(random.next(below: seed.count + 1)))
        case 2, 3:
            var bytes = seed
            for _ in 0...random.next(below: 8) where !bytes.isEmpty {
                bytes[random.next(below: bytes.count)] ^= 1 << UInt8(random.next(below: 8))
            }
            return bytes
        case 4, 5:
            // Overwrite bytes with bencode's own alphabet: the mutations most likely to still parse.
            let alphabet = Array("ield:0123456789-".utf8)
            var bytes = seed
            for _ in 0...random.next(below: 4) where !bytes.isEmpty {
                bytes[structuralPosition(in: bytes, using: &random)] = alphabet[random.next(below: alphabet.count)]
            }
            return bytes
        case 6:
            // Splice a hostile token at a structural position.
            let tokens = ["4611686018427387904:", "i99999999999999999999e", "i-0e", "ld", "d", "0:", "le", "i07e"]
            var bytes = seed
            let token = Array(tokens[random.next(below: tokens.count)].utf8)
            bytes.insert(contentsOf: token, at: bytes.isEmpty ? 0 : structuralPosition(in: bytes, using: &random))
            return bytes
        case 7:
            // Cut a piece out.
            guard seed.count > 2 else { return seed }
            let from = random.next(below: seed.count)
            let to = min(seed.count, from + 1 + random.next(below: 64))
            return Array(seed[..<from] + seed[to...])
        case 8:
            return (0..<random.next(below: 256)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        default:
            let alphabet = Array("ield:0123456789-abc".utf8)
            return (0..<random.next(below: 128)).map { _ in alphabet[random.next(below: alphabet.count)] }
        }
    }

    /// A random position, biased toward the structure at the start of the file rather than the
    /// hash data that makes up most of the bytes of large torrents.
    static func structuralPosition(in bytes: [UInt8], using random: inout SplitMix64) -> Int {
        let window = random.next(below: 4) == 0 ? bytes.count : min(bytes.count, 512)
        return random.next(below: window)
    }

    /// The same rules as `expectSafe`, as a cheap predicate for the hot loop.
    static func isSafe(_ metainfo: Metainfo) -> Bool {
        func safe(_ path: [String]) -> Bool {
            !path.isEmpty
                && path.allSatisfy { element in
                    !element.isEmpty && element != "." && element != ".." && element.utf8.count <= 255
                        && !element.utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == 0 }
                }
        }
        return metainfo.files.allSatisfy { safe($0.path) && ($0.symlinkTarget.map(safe) ?? true) }
    }
}
