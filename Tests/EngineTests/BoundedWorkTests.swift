import Crypto
import Testing

@testable import Engine

/// The parts of parsing rewritten to take memory bounded by the input's structure, not its bytes:
/// the streaming merkle root and the sanitizing of very long path elements agree with the plain
/// algorithms they replace.
@Suite(.timeLimit(.minutes(5))) struct BoundedWorkTests {
    /// The root the way it was computed before: every level in full, an odd node paired with the
    /// level's padding.
    private static func levelByLevelRoot(_ layer: [UInt8], padding: [UInt8]) -> [UInt8] {
        var nodes = stride(from: 0, to: layer.count, by: 32).map { Array(layer[$0..<$0 + 32]) }
        var pad = padding
        while nodes.count > 1 {
            nodes = stride(from: 0, to: nodes.count, by: 2).map { index in
                Array(SHA256.hash(data: nodes[index] + (index + 1 < nodes.count ? nodes[index + 1] : pad)))
            }
            pad = Array(SHA256.hash(data: pad + pad))
        }
        return nodes[0]
    }

    @Test func streamingMerkleRootAgreesWithTheLevelByLevelRoot() {
        var random = SplitMix64(seed: 3)
        for count in Array(1...70) + [127, 128, 129, 1000] {
            let layer = (0..<count * 32).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let padding = (0..<32).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            #expect(MerkleTree.root(ofLayer: layer, padding: padding) == Self.levelByLevelRoot(layer, padding: padding))
        }
    }

    /// A layer inside a larger array is read in place, at its own indices.
    @Test func merkleRootOfASlice() {
        let layer = (0..<5 * 32).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let padded = [UInt8](repeating: 9, count: 13) + layer + [1, 2, 3]
        let slice = padded[13..<13 + layer.count]
        #expect(
            MerkleTree.root(ofPieceLayer: slice, pieceLength: 32768)
                == MerkleTree.root(ofPieceLayer: layer, pieceLength: 32768))
    }

    /// Sanitizing as it was: the whole element, then the cut (see `PathSanitizer`).
    private static func wholeTextSanitize(_ element: [UInt8]) -> String? {
        var scalars = String.UnicodeScalarView()
        var iterator = element.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        loop: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if [0x00, 0x2F, 0x5C, 0x200B, 0x202E, 0xFEFF].contains(scalar.value) { continue }
                scalars.append(scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? "_" : scalar)
            case .error:
                scalars.append("_")
            case .emptyInput:
                break loop
            }
        }
        let text = String(scalars)
        if text.isEmpty || text == "." || text == ".." { return nil }
        guard text.utf8.count > 255 else { return text }
        var stem = text
        var fileExtension = ""
        if let dot = text.lastIndex(of: "."), dot != text.startIndex, text[dot...].utf8.count <= 16 {
            stem = String(text[..<dot])
            fileExtension = String(text[dot...])
        }
        var result = String.UnicodeScalarView()
        var used = 0
        for scalar in stem.unicodeScalars {
            if used + UTF8.width(scalar) > 255 - fileExtension.utf8.count { break }
            used += UTF8.width(scalar)
            result.append(scalar)
        }
        return String(result) + fileExtension
    }

    @Test(arguments: [
        String(repeating: "h", count: 3 << 20),
        String(repeating: "a", count: 1000) + ".txt",
        String(repeating: "a", count: 1000) + ".averylongextension1",
        "x.y" + String(repeating: "z", count: 5000),
        String(repeating: "é", count: 2000) + ".mkv",
        String(repeating: "日本", count: 700) + "\u{7}/\\" + String(repeating: "b", count: 600) + ".tar",
        String(repeating: "a", count: 600) + ".t\u{301}xt",
        String(repeating: "a", count: 600) + "\u{301}.txt",
        "." + String(repeating: "a", count: 700),
        String(repeating: "a", count: 530) + "." + String(repeating: "b", count: 20) + ".c",
        String(repeating: "/", count: 4000) + "ok",
        String(repeating: "q", count: 511) + "é" + String(repeating: "r", count: 300) + ".ogg",
    ])
    func longElementsAreCutAsTheWholeTextWouldBe(text: String) {
        let bytes = Array(text.utf8)
        #expect(PathSanitizer.sanitize(bytes) == Self.wholeTextSanitize(bytes))
    }

    /// Invalid UTF-8 and control bytes far past the kept head still count.
    @Test func invalidBytesInALongElement() {
        let bytes = [UInt8](repeating: 0x61, count: 800) + [0xFF, 0x2E, 0x74, 0x78, 0x01]
        #expect(PathSanitizer.sanitize(bytes) == Self.wholeTextSanitize(bytes))
        #expect(PathSanitizer.sanitize(bytes)?.hasSuffix("._txt") == false)
        #expect(PathSanitizer.sanitize(bytes)?.hasSuffix(".tx_") == true)
    }
}
