import Foundation
import NIOCore
import Testing

@testable import Engine

/// The contract every ``PieceStorage`` backend passes, run against each one.
@Suite(.timeLimit(.minutes(5)))
struct StorageSuiteTests {
    enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case memory
        case file
        var testDescription: String { rawValue }
    }

    /// A backend under test with a way to see its files from outside.
    struct Subject {
        var storage: any PieceStorage
        var size: (FileIndex) async -> Int64?
    }

    static func withSubject(
        _ backend: Backend, files: TorrentFiles = SampleTorrent.files, layout: PieceLayout = SampleTorrent.layout,
        _ body: (Subject) async throws -> Void
    ) async throws {
        switch backend {
        case .memory:
            let storage = MemoryStorage(files: files, layout: layout)
            try await body(Subject(storage: storage) { await storage.contents(of: $0).map { Int64($0.count) } })
        case .file:
            try await withTemporaryFolder { folder in
                let storage = FileStorage(saveFolder: folder, files: files, layout: layout)
                try await body(Subject(storage: storage) { storage.path(of: $0).flatMap(fileSize) })
                await storage.close()
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func blocksAcrossFileBoundariesReadBack(_ backend: Backend) async throws {
        try await Self.withSubject(backend) { subject in
            let storage = subject.storage
            try await storage.prepare()
            let layout = storage.layout
            // Write every block, last piece first, to make sure order does not matter.
            for piece in layout.pieces.reversed() {
                for request in layout.requests(in: piece) {
                    let start = Int(layout.offset(of: piece)) + Int(request.begin)
                    try await storage.write(
                        request, bytes: Array(SampleTorrent.stream[start..<start + Int(request.length)]))
                }
            }
            for piece in layout.pieces {
                #expect(try await storage.read(piece: piece) == SampleTorrent.piece(piece))
            }
            // An unaligned read crossing b.bin, the pad file and c.bin.
            let odd = try await storage.read(piece: 1, begin: 17_000, length: 15_768)
            #expect(odd == Array(SampleTorrent.stream[49_768..<65_536]))
            let buffer = try await storage.readBuffer(piece: 1, begin: 17_000, length: 15_768, reusing: nil)
            #expect(Array(buffer.readableBytesView) == odd, "the same bytes, read for an upload")
            #expect(try await storage.read(piece: 2, begin: 0, length: 0) == [])
        }
    }

    @Test(arguments: Backend.allCases)
    func hashesPiecesFromStorage(_ backend: Backend) async throws {
        try await Self.withSubject(backend) { subject in
            let storage = subject.storage
            try await storage.prepare()
            for piece in storage.layout.pieces {
                try await storage.write(piece: piece, begin: 0, bytes: SampleTorrent.piece(piece))
            }
            for piece in storage.layout.pieces {
                let digest = try await storage.hashPiece(piece)
                #expect(PieceHasher.matches(digest, piece: piece, in: SampleTorrent.pieceHashes))
                #expect(
                    try await storage.verifyPiece(
                        piece, expected: PieceHasher.expected(piece, in: SampleTorrent.pieceHashes)))
            }
            try await storage.write(piece: 2, begin: 5, bytes: [0xff])
            #expect(!PieceHasher.matches(try await storage.hashPiece(2), piece: 2, in: SampleTorrent.pieceHashes))
        }
    }

    /// Whole pieces written from a ``PieceBuffer`` (as downloaded pieces are) land across file boundaries
    /// as from an array, pad bytes skipped, and hash as the torrent says; the buffer is reused between
    /// pieces of the same length, as the session reuses it.
    @Test(arguments: Backend.allCases)
    func wholePiecesFromABufferReadBack(_ backend: Backend) async throws {
        try await Self.withSubject(backend) { subject in
            let storage = subject.storage
            try await storage.prepare()
            let layout = storage.layout
            let map = FileSpanMap(files: SampleTorrent.files, layout: layout)
            var reused: PieceBuffer?
            for piece in layout.pieces {
                let bytes = SampleTorrent.piece(piece)
                let buffer = reused.flatMap { $0.count == bytes.count ? $0 : nil } ?? PieceBuffer(count: bytes.count)
                bytes.withUnsafeBytes { buffer.bytes.copyMemory(from: $0) }
                #expect(
                    PieceHasher.matches(try await PieceHasher.sha1(buffer), piece: piece, in: SampleTorrent.pieceHashes)
                )
                // Pad bytes are never written: whatever the buffer holds there, they read back as zeros.
                var position = 0
                for span in map.spans(piece: piece) {
                    if span.isPad {
                        UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[position..<position + span.length])
                            .initializeMemory(as: UInt8.self, repeating: 0xab)
                    }
                    position += span.length
                }
                try await storage.write(piece: piece, from: buffer)
                reused = buffer
            }
            for piece in layout.pieces {
                #expect(try await storage.read(piece: piece) == SampleTorrent.piece(piece), "piece \(piece)")
            }
        }
    }

    /// A piece whose bytes do not hash to the expected SHA-1 is not written; one that does is.
    @Test(arguments: Backend.allCases)
    func onlyVerifiedPiecesAreWritten(_ backend: Backend) async throws {
        try await Self.withSubject(backend) { subject in
            let storage = subject.storage
            try await storage.prepare()
            let piece: PieceIndex = 2
            let bytes = SampleTorrent.piece(piece)
            let expected = Array(PieceHasher.expected(piece, in: SampleTorrent.pieceHashes))
            let buffer = PieceBuffer(count: bytes.count)
            bytes.withUnsafeBytes { buffer.bytes.copyMemory(from: $0) }
            buffer.bytes[100] ^= 0xff
            #expect(try await storage.writeIfVerified(piece: piece, from: buffer, expected: expected) == false)
            #expect(try await storage.read(piece: piece).allSatisfy { $0 == 0 })
            buffer.bytes[100] ^= 0xff
            #expect(try await storage.writeIfVerified(piece: piece, from: buffer, expected: expected))
            #expect(try await storage.read(piece: piece) == bytes)
        }
    }

    @Test(arguments: Backend.allCases)
    func padBytesReadAsZerosAndAreNeverWritten(_ backend: Backend) async throws {
        try await Self.withSubject(backend) { subject in
            let storage = subject.storage
            try await storage.prepare()
            // Piece 1, block 1: 848 bytes of b.bin, then 15,536 pad bytes. Write non-zero pad bytes.
            try await storage.write(piece: 1, begin: 16_384, bytes: Array(repeating: 0xab, count: 16_384))
            let back = try await storage.read(piece: 1, begin: 16_384, length: 16_384)
            #expect(back[..<848].allSatisfy { $0 == 0xab })
            #expect(back[848...].allSatisfy { $0 == 0 })
            #expect(await subject.size(3) == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func prepareCreatesFilesWithTheirSizes(_ backend: Backend) async throws {
        try await Self.withSubject(backend) { subject in
            try await subject.storage.prepare()
            try await subject.storage.prepare()  // idempotent
            for (index, file) in SampleTorrent.files.enumerated() {
                let size = await subject.size(FileIndex(index))
                #expect(size == (file.isPad ? nil : file.length), "file \(index)")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func prepareKeepsExistingData(_ backend: Backend) async throws {
        try await Self.withSubject(backend) { subject in
            let storage = subject.storage
            try await storage.prepare()
            try await storage.write(piece: 3, begin: 0, bytes: SampleTorrent.piece(3))
            try await storage.flush()
            try await storage.prepare()
            #expect(try await storage.read(piece: 3) == SampleTorrent.piece(3))
        }
    }

    @Test(arguments: Backend.allCases)
    func writingBeforePrepareReportsAMissingFile(_ backend: Backend) async throws {
        try await Self.withSubject(backend) { subject in
            let error = await #expect(throws: StorageError.self) {
                try await subject.storage.write(piece: 0, begin: 0, bytes: [1, 2, 3])
            }
            #expect(error?.reason == .missingFile)
        }
    }

    @Test(arguments: Backend.allCases)
    func closedStorageRefusesWork(_ backend: Backend) async throws {
        try await Self.withSubject(backend) { subject in
            try await subject.storage.prepare()
            await subject.storage.close()
            let error = await #expect(throws: StorageError.self) { _ = try await subject.storage.read(piece: 0) }
            #expect(error?.reason == .closed)
            let prepareError = await #expect(throws: StorageError.self) { try await subject.storage.prepare() }
            #expect(prepareError?.reason == .closed)
        }
    }
}
