/// Pieces hashed and stored off the actor (see ``PieceHashing``), their outcomes handed to the core.
extension TorrentSession {
    /// Hashes a whole piece from memory and writes it when it matches, off this actor and off the peer's
    /// reader, so reading goes on meanwhile. Its bytes count against the assemblies' limit until written.
    /// A piece shorter than ``PieceStoreBatches/batchedBelow`` waits for a batch instead (see
    /// ``PieceStoreBatches``).
    func store(_ piece: PieceIndex, _ buffer: PieceBuffer, watched: Bool) {
        guard hashing.storesInBatches, PieceStoreBatches.batches(buffer.count) else {
            Task { [hashing] in
                let outcome = await hashing.store(piece, from: buffer, watched: watched)
                self.changeCore { $0.pieceStored(piece, buffer, outcome, effects: &$1) }
            }
            return
        }
        storeBatches.add((piece, buffer, watched))
        startStoreBatches()
    }

    /// Starts the batches of small pieces due now, all that wait when `flush` or when no other piece
    /// is being gathered; each, once stored, has its outcomes handed to the core in one change and
    /// starts the next.
    func startStoreBatches(flush: Bool = false) {
        while let batch = storeBatches.next(flush: flush || core.verification.assemblies.byPiece.isEmpty) {
            Task { [hashing] in
                let outcomes = await hashing.store(batch)
                self.storeBatches.ended()
                self.changeCore { $0.piecesStored(batch, outcomes, effects: &$1) }
                self.startStoreBatches()
            }
        }
    }

    /// Reads a piece written block by block back from the files and checks its hash.
    func hash(_ piece: PieceIndex) {
        guard hashing.canCheck else { return }
        Task { [hashing] in
            let outcome = await hashing.check(piece)
            self.changeCore { $0.pieceHashed(piece, outcome, effects: &$1) }
        }
    }

    /// Reads and hashes the pieces a block-layer `hash request` of the peer at `key` needs, off this
    /// actor, then has the core answer it.
    func readBlockLayer(_ plan: V2BlockLayerAnswer, for key: PeerKey) {
        Task { [hashing] in
            let leaves: Result<[UInt8], any Error>
            do {
                leaves = .success(try await hashing.leaves(for: plan))
            } catch {
                leaves = .failure(error)
            }
            self.changeCore { core, _ in core.blockLayerRead(plan, leaves: leaves, for: key) }
        }
    }

    /// Returns once no assembled piece is being hashed or written.
    func waitForStores() async {
        storeBatches.draining = true
        startStoreBatches()
        while core.verification.assemblies.storesInFlight > 0 {
            await withCheckedContinuation { core.verification.waitForStores($0) }
        }
    }
}
