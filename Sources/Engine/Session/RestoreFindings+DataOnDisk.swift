/// Data already in the files when nothing was recorded (a run killed before its first journal save,
/// files put there by hand): which pieces the check at start hashes then.
extension RestoreFindings {
    /// Pieces all of whose bytes lie in files that exist, and some of whose bytes hold data (not the holes
    /// of a sparse file nothing was written to there). After a kill before the first journal save, this is
    /// the few pieces the killed run wrote to, not every piece of a file it created. A piece that lies
    /// wholly in holes is all zeros; skipping it costs at most downloading it again.
    static func piecesWithData(in storage: any PieceStorage, files: TorrentFiles) -> [PieceIndex] {
        let layout = storage.layout
        guard let storage = storage as? FileStorage else { return layout.pieces }
        let map = storage.map
        var candidates: [PieceIndex] = []
        var existing: [Bool] = []
        var dataRanges: [Int: [Range<Int64>]] = [:]
        for (index, file) in files.enumerated() {
            guard !file.isPad, file.length > 0, storage.path(of: FileIndex(index)) != nil else {
                existing.append(true)
                continue
            }
            let hasData = storage.hasAllocatedData(FileIndex(index))
            existing.append(hasData)
            if hasData { dataRanges[index] = storage.dataRanges(FileIndex(index)) }
        }
        for piece in layout.pieces {
            let spans = map.spans(piece: piece)
            guard spans.allSatisfy({ $0.isPad || existing[$0.file.value] }) else { continue }
            let holdsData = spans.contains { span in
                guard !span.isPad, let ranges = dataRanges[span.file.value] else { return false }
                let range = span.fileOffset..<span.fileOffset + Int64(span.length)
                return Self.overlaps(range, ranges)
            }
            if holdsData { candidates.append(piece) }
        }
        return candidates
    }

    /// True when `range` overlaps one of `ranges` (sorted, not overlapping one another).
    static func overlaps(_ range: Range<Int64>, _ ranges: [Range<Int64>]) -> Bool {
        // The first range that ends after `range` starts, found by binary search.
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound <= range.lowerBound { low = middle + 1 } else { high = middle }
        }
        return low < ranges.count && ranges[low].lowerBound < range.upperBound
    }
}
