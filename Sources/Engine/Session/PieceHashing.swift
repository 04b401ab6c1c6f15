/// Hashes pieces off the session's actor and off the peers' readers: a whole piece assembled in memory
/// (written only when it matches), or a piece written block by block, read back from the files.
struct PieceHashing: Sendable {
    let storage: any PieceStorage
    /// The torrent's piece hashes (20 bytes each), `nil` for a torrent without v1 hashes.
    let pieceHashes: ArraySlice<UInt8>?
    /// The v2 roots of a v2 or hybrid torrent: a piece must match them too.
    let merkle: V2PieceRoots?

    /// True when pieces can be checked at all.
    var canCheck: Bool { pieceHashes != nil || merkle != nil }

    /// What a check found.
    enum Outcome: Sendable {
        /// The piece matched its hash or not; `digests` are its blocks' digests when smart ban needs them.
        case checked(matches: Bool, digests: [[UInt8]]?)
        /// The piece failed its v2 (merkle) check; it was written to the files all the same, so
        /// that the good blocks need not be fetched again once its block hashes say which are bad.
        case merkleFailed(MerkleFailure)
        /// Writing or reading it failed.
        case failed(any Error)
    }

    /// What a piece that failed its v2 check was, block by block.
    struct MerkleFailure: Sendable {
        /// The SHA-256 leaf of each block as received (zero for a block wholly in pad), 32 bytes each.
        var leaves: [UInt8]
        /// The bytes of the piece that are data (the rest is pad).
        var dataLength: Int
        /// The piece's expected merkle root.
        var expected: [UInt8]
        /// The SHA-1 of each block, for smart ban.
        var digests: [[UInt8]]
    }

    /// Hashes `buffer` and writes it as `piece` when it matches. The blocks' digests come back for smart
    /// ban when the piece failed, or when it is `watched` (it failed before). A piece that fails its v2
    /// check is written too and comes back with its leaves (``Outcome/merkleFailed(_:)``).
    func store(_ piece: PieceIndex, from buffer: PieceBuffer, watched: Bool) async -> Outcome {
        let expected = pieceHashes.map { Array(PieceHasher.expected(piece, in: $0)) } ?? []
        var matches = true
        do {
            if let merkle {
                let failure = try await NIOBlockingExecutor().run { () -> MerkleFailure? in
                    guard !merkle.matches(piece, data: buffer.readable) else { return nil }
                    let blocks = (buffer.count + MerkleTree.blockSize - 1) / MerkleTree.blockSize
                    let dataLength = min(merkle.shape(of: piece)?.dataLength ?? 0, buffer.count)
                    return MerkleFailure(
                        leaves: V2BlockLayerAnswer.leaves(
                            of: UnsafeRawBufferPointer(rebasing: buffer.readable[0..<dataLength]), leafCount: blocks),
                        dataLength: dataLength, expected: Array(merkle.expected(piece)),
                        digests: SmartBan.digests(of: buffer.readable, blockLength: PieceLayout.blockSize))
                }
                if let failure {
                    try await storage.write(piece: piece, from: buffer)
                    return .merkleFailed(failure)
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

    /// Whether whole pieces may be stored in batches (``store(_:)``): not when v2 roots check them (a
    /// piece failing its v2 check is written all the same, and answered block by block).
    var storesInBatches: Bool { merkle == nil }

    /// Hashes the pieces of `batch` and writes the matching ones in one job (see
    /// ``PieceStorage/writeIfVerified(_:)``); an outcome per piece, in the batch's order, as
    /// ``store(_:from:watched:)`` gives it.
    ///
    /// - Precondition: ``storesInBatches``.
    func store(_ batch: [PieceStoreBatches.Store]) async -> [Outcome] {
        precondition(storesInBatches, "v2 pieces are stored one by one")
        let writes = batch.map { store in
            PieceWrite(
                piece: store.piece, buffer: store.buffer,
                expected: pieceHashes.map { Array(PieceHasher.expected(store.piece, in: $0)) })
        }
        let matches: [Bool]
        do {
            matches = try await storage.writeIfVerified(writes)
        } catch {
            return batch.map { _ in .failed(error) }
        }
        return zip(batch, matches).map { store, matches in
            let digests =
                !matches || store.watched
                ? SmartBan.digests(of: store.buffer.readable, blockLength: PieceLayout.blockSize) : nil
            return .checked(matches: matches, digests: digests)
        }
    }

    /// The leaves of the pieces `plan` needs, read from the files one piece at a time and hashed on the
    /// blocking pool (only each piece's data bytes; zero leaves past them).
    func leaves(for plan: V2BlockLayerAnswer) async throws -> [UInt8] {
        var leaves: [UInt8] = []
        leaves.reserveCapacity(plan.pieces.count * plan.leavesPerPiece * 32)
        for index in plan.pieces {
            let piece = PieceIndex(index)
            let data = try await storage.read(piece: piece)
            let dataLength = min(merkle?.shape(of: piece)?.dataLength ?? data.count, data.count)
            leaves += try await NIOBlockingExecutor().run {
                data.withUnsafeBytes {
                    V2BlockLayerAnswer.leaves(
                        of: UnsafeRawBufferPointer(rebasing: $0[0..<dataLength]), leafCount: plan.leavesPerPiece)
                }
            }
        }
        return leaves
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
