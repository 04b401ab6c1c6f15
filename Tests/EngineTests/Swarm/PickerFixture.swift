@testable import Engine

/// Builds pickers from strings, like libtorrent's `setup_picker` in test_piece_picker.cpp.
///
/// Pieces are 64 KiB (4 blocks of 16 KiB); one character per piece:
/// - `availability`: how many peers have the piece, `0`-`9` (added as individual `have`s).
/// - `have`: `x` for a verified piece, anything else for missing.
/// - `priority`: `0`-`7`; empty means every piece at normal priority.
/// - `partial`: a hex digit whose bits are the blocks already written (bit 0 = block 0); space or `0`
///   for none.
enum PickerFixture {
    static let pieceLength = 4 * PieceLayout.blockSize

    static func picker(
        _ availability: String, _ have: String = "", _ priority: String = "", _ partial: String = "",
        seed: UInt64 = 1, randomFirst: Int = 0, lastPieceLength: Int? = nil
    ) -> PiecePicker {
        let count = availability.count
        let total = Int64(count - 1) * Int64(pieceLength) + Int64(lastPieceLength ?? pieceLength)
        var picker = PiecePicker(
            layout: PieceLayout(pieceLength: pieceLength, totalLength: total), random: SeededRandom(seed: seed))
        picker.randomFirstPieces = randomFirst
        for (index, character) in availability.enumerated() {
            for _ in 0..<character.wholeNumberValue! { picker.addAvailability(PieceIndex(index)) }
        }
        for (index, character) in priority.enumerated() {
            picker.setPriority(PiecePriority(UInt8(character.wholeNumberValue!)), of: PieceIndex(index))
        }
        for (index, character) in have.enumerated() where character == "x" {
            picker.pieceVerified(PieceIndex(index))
        }
        for (index, character) in partial.enumerated() {
            guard let mask = character.hexDigitValue, mask != 0 else { continue }
            let blocks = (0..<4).filter { mask & (1 << $0) != 0 }.map { BlockIndex($0) }
            picker.restoreWrittenBlocks(blocks, in: PieceIndex(index))
        }
        return picker
    }

    /// A `peerHas` predicate from a string: `1` (or `x`) where the peer has the piece.
    static func peer(_ pieces: String) -> (PieceIndex) -> Bool {
        let bits = pieces.map { $0 == "1" || $0 == "x" }
        return { bits[$0.value] }
    }

    /// Every piece.
    static let seed: @Sendable (PieceIndex) -> Bool = { _ in true }

    /// The pieces of `requests`, in order of first appearance.
    static func pieces(_ requests: [BlockRequest]) -> [Int] {
        var seen: [Int] = []
        for request in requests where !seen.contains(request.piece.value) { seen.append(request.piece.value) }
        return seen
    }

    /// Renders requests as `piece.block` strings, for compact expectations.
    static func render(_ requests: [BlockRequest]) -> String {
        requests.map { "\($0.piece.value).\(Int($0.begin) / PieceLayout.blockSize)" }.joined(separator: " ")
    }

    /// Block states of a piece as one character each: `.` none, `r` requested (digit when requested
    /// by more than one peer), `v` received, `w` written.
    static func states(_ picker: PiecePicker, _ piece: PieceIndex) -> String {
        guard let blocks = picker.blockStates(of: piece) else { return "-" }
        return String(
            blocks.map { state -> Character in
                switch state {
                case .none: "."
                case .requested(let peers): peers.count == 1 ? "r" : Character(String(peers.count))
                case .received: "v"
                case .written: "w"
                }
            })
    }
}
