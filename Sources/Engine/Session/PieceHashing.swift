/// Hashes pieces off the session's actor and off the peers' readers: a whole piece assembled in memory
/// (written only when it matches), or a piece written block by block, read back from the files.
struct PieceHashing: Sendable {
    let storage: any PieceStorage
    /// The torrent's piece hashes (20 bytes each), `nil` for a torrent without v1 hashes.
    let pieceHashes: [UInt8]?
    /// The v2 roots of a v2 or hybrid torrent: a piece must match them too.
    let merkle: V2PieceRoots?

    /// True when pieces can be checked at all.
    var canCheck: Bool { pieceHashes != nil || merkle != nil }

    /// What a check found.
    enum Outcome: Sendable {
        /// The piece matched its hash or not; `digests` are its blocks' digests when smart ban needs them.
        case checked(matches: Bool, digests: [[UInt8]]?)
        /// Writing or reading it failed.
        case failed(any Error)
    }

    /// Hashes `buffer` and writes it as `piece` when it matches. The blocks' digests come back for smart
    /// ban when the piece failed, or when it is `watched` (it failed before).
    func store(_ piece: PieceIndex, from buffer: PieceBuffer, watched: Bool) async -> Outcome {
        let expected = pieceHashes.map { Array(PieceHasher.expected(piece, in: $0)) } ?? []
        var matches = true
        do {
            if let merkle {
                matches = try await NIOBlockingExecutor().run {
                    merkle.matches(piece, data: buffer.readable)
                }
            }
            if matches, pieceHashes == nil {
                try await storage.write(piece: piece, from: buffer)
            } else if matches {
                matches = try await storage.writeIfVerified(piece: piece, from: buffer, expected: expected)
            }
        } catch {
            return .failed(error)
        }
        let digests =
            !matches || watched ? SmartBan.digests(of: buffer.readable, blockLength: PieceLayout.blockSize) : nil
        return .checked(matches: matches, digests: digests)
    }

    /// Reads `piece` back from the files and compares it with its hash.
    func check(_ piece: PieceIndex) async -> Outcome {
        guard canCheck else { return .checked(matches: false, digests: nil) }
        do {
            let matches = try await PieceVerifier.check(
                piece, of: storage, pieceHashes: pieceHashes, merkle: merkle)
            return .checked(matches: matches, digests: nil)
        } catch {
            return .failed(error)
        }
    }
}
