import Foundation

/// Hash-checks a torrent's existing data against its piece hashes, several pieces at a time
/// (one per core by default), for `btq verify` and for rechecks after a crash or a changed file.
///
/// Each piece is read back through ``PieceStorage/hashPiece(_:)``, which for ``FileStorage`` means
/// `pread` in bounded chunks on the storage's executor threads, so the check uses every core without
/// holding more than a chunk per thread in memory. A v2 or hybrid torrent's pieces are read whole
/// (one piece per task) and checked against their merkle roots (``V2PieceRoots``), a hybrid's against
/// its SHA-1 too: a piece is good only when every hash it has agrees.
public struct PieceVerifier: Sendable {
    /// The piece geometry.
    public let layout: PieceLayout
    /// The concatenated 20-byte SHA-1 hashes, one per piece; `nil` for a v2-only torrent.
    public let pieceHashes: ArraySlice<UInt8>?
    /// The v2 roots of a v2 or hybrid torrent.
    public let merkle: V2PieceRoots?
    /// How many pieces are hashed at once.
    public let concurrency: Int

    /// Creates a verifier.
    ///
    /// - Precondition: `pieceHashes` holds 20 bytes per piece of `layout`.
    public init(
        layout: PieceLayout, pieceHashes: [UInt8], concurrency: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.init(layout: layout, pieceHashes: pieceHashes[...], merkle: nil, concurrency: concurrency)
    }

    /// Creates a verifier of SHA-1 hashes, merkle roots or both.
    ///
    /// - Precondition: at least one of them; `pieceHashes` holds 20 bytes per piece of `layout`.
    public init(
        layout: PieceLayout, pieceHashes: ArraySlice<UInt8>?, merkle: V2PieceRoots?,
        concurrency: Int = ProcessInfo.processInfo.activeProcessorCount
    ) {
        precondition(pieceHashes != nil || merkle != nil, "need piece hashes or merkle roots")
        precondition(pieceHashes.map { $0.count == layout.pieceCount * 20 } ?? true, "need 20 hash bytes per piece")
        self.layout = layout
        self.pieceHashes = pieceHashes
        self.merkle = merkle
        self.concurrency = max(1, concurrency)
    }

    /// Creates a verifier for a parsed torrent.
    ///
    /// - Throws: ``V2PieceRoots/Missing`` for a v2 torrent without the piece layers it needs.
    public init(metainfo: Metainfo, concurrency: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        self.init(
            layout: PieceLayout(metainfo), pieceHashes: metainfo.pieceHashes,
            merkle: try V2PieceRoots(metainfo: metainfo),
            concurrency: concurrency)
    }

    /// Whether `piece` of `storage` matches every hash it has.
    static func check(
        _ piece: PieceIndex, of storage: some PieceStorage, pieceHashes: ArraySlice<UInt8>?, merkle: V2PieceRoots?
    ) async throws -> Bool {
        guard let merkle else {
            return try await storage.verifyPiece(piece, expected: PieceHasher.expected(piece, in: pieceHashes ?? []))
        }
        let data = try await storage.read(piece: piece)
        return try await NIOBlockingExecutor().run {
            data.withUnsafeBytes { bytes in
                merkle.matches(piece, data: bytes)
                    && (pieceHashes.map { PieceDigest.sha1(of: bytes).matches(PieceHasher.expected(piece, in: $0)) }
                        ?? true)
            }
        }
    }

    /// Checks `pieces` (all pieces when `nil`) of `storage`.
    ///
    /// A piece whose data cannot be read (missing or short file) counts as invalid and its error is
    /// kept in the report. Stops early when the task is cancelled. `progress` is called after each
    /// piece with the number checked so far and the total.
    public func verify(
        _ storage: some PieceStorage, pieces: [PieceIndex]? = nil,
        progress: (@Sendable (_ checked: Int, _ total: Int) -> Void)? = nil
    ) async -> VerificationReport {
        let pieces = pieces ?? layout.pieces
        var report = VerificationReport(pieceCount: layout.pieceCount)
        await withTaskGroup(of: (PieceIndex, Result<Bool, StorageError>).self) { group in
            var next = 0
            func addNext() {
                guard next < pieces.count, !Task.isCancelled else { return }
                let piece = pieces[next]
                next += 1
                group.addTask { [pieceHashes, merkle] in
                    do {
                        let matches = try await Self.check(
                            piece, of: storage, pieceHashes: pieceHashes, merkle: merkle)
                        return (piece, .success(matches))
                    } catch let error as StorageError {
                        return (piece, .failure(error))
                    } catch {
                        return (piece, .failure(StorageError(reason: .ioFailure, operation: .read, path: "\(error)")))
                    }
                }
            }
            for _ in 0..<concurrency { addNext() }
            while let (piece, result) = await group.next() {
                report.record(piece, result)
                progress?(report.checkedCount, pieces.count)
                addNext()
            }
        }
        return report
    }
}

/// The outcome of a ``PieceVerifier`` run.
public struct VerificationReport: Sendable {
    /// Per piece of the torrent: true when the piece was checked and its hash matched.
    public private(set) var valid: [Bool]
    /// How many pieces were checked.
    public private(set) var checkedCount = 0
    /// How many checked pieces matched.
    public private(set) var validCount = 0
    /// Pieces that could not be read, with the reason.
    public private(set) var failures: [PieceIndex: StorageError] = [:]

    /// An empty report for `pieceCount` pieces.
    public init(pieceCount: Int) {
        self.valid = Array(repeating: false, count: pieceCount)
    }

    /// The valid pieces, in order.
    public var validPieces: [PieceIndex] { valid.indices.filter { valid[$0] }.map { PieceIndex($0) } }

    mutating func record(_ piece: PieceIndex, _ result: Result<Bool, StorageError>) {
        checkedCount += 1
        switch result {
        case .success(let matches):
            valid[piece.value] = matches
            if matches { validCount += 1 }
        case .failure(let error):
            failures[piece] = error
        }
    }
}
