/// Small pieces stored in batches: one job hashes them all, and the matching ones go to the files in
/// runs of contiguous bytes, in file order, instead of one job, one hand-over and one write per piece.
extension FileStorage {
    /// The most bytes one run carries.
    static let maxRunBytes = 8 << 20

    /// Hashes each piece of `batch` and writes the matching ones, in one job on the storage's threads.
    public func writeIfVerified(_ batch: [PieceWrite]) async throws -> [Bool] {
        let spans = batch.map { write in
            precondition(
                write.buffer.count == layout.length(of: write.piece),
                "a buffer of \(write.buffer.count) bytes for \(write.piece)")
            return map.spans(piece: write.piece, begin: 0, length: write.buffer.count)
        }
        return try await executor.run {
            let matches = batch.map { write in
                write.expected.map { PieceDigest.sha1(of: write.buffer.readable).matches($0) } ?? true
            }
            var chunks: [(span: FileSpan, bytes: UnsafeRawBufferPointer)] = []
            for (index, write) in batch.enumerated() where matches[index] {
                var position = 0
                for span in spans[index] {
                    defer { position += span.length }
                    if span.isPad { continue }
                    chunks.append(
                        (
                            span,
                            UnsafeRawBufferPointer(rebasing: write.buffer.readable[position..<position + span.length])
                        ))
                }
            }
            chunks.sort { ($0.span.file.value, $0.span.fileOffset) < ($1.span.file.value, $1.span.fileOffset) }
            self.writeLock.lock()
            defer { self.writeLock.unlock() }
            var start = 0
            while start < chunks.count {
                let first = chunks[start].span
                var end = start + 1
                var next = first.fileOffset + Int64(first.length)
                while end < chunks.count, chunks[end].span.file == first.file, chunks[end].span.fileOffset == next,
                    next - first.fileOffset + Int64(chunks[end].span.length) <= Self.maxRunBytes
                {
                    next += Int64(chunks[end].span.length)
                    end += 1
                }
                try self.writeRun(file: first.file, chunks[start..<end].map(\.bytes), at: first.fileOffset)
                start = end
            }
            return matches
        }
    }
}
