import Glibc

/// Writes of whole, page-aligned runs of a piece that bypass the page cache (`O_DIRECT`).
///
/// A downloaded piece written through the page cache is copied into it by the CPU, then written back
/// and dropped again (see ``POSIXFile/writeBehind(_:)``). Written with `O_DIRECT`, the device reads it
/// straight from the piece's buffer: no copy, no dirty pages, nothing to drop. Only runs whose file
/// offset, length and memory are all aligned to ``alignment``, and that are at least ``minimumLength``
/// long, go this way (the pieces of 256 KiB or more of a single-file torrent, except a short last one);
/// the rest, and every file on a file system that refuses `O_DIRECT`
/// (tmpfs), are written as before. A file's direct descriptor is opened from its checked, open
/// descriptor (`/proc/self/fd`), so it names the same file without looking up its path again.
final class DirectWrites: @unchecked Sendable {
    // Invariant for @unchecked Sendable: used only with the storage's write lock held.

    /// Offsets, lengths and addresses of direct writes are multiples of this (the largest logical block
    /// size of common devices).
    static let alignment = 4096
    /// Direct descriptors kept open at once (they are reopened on demand).
    static let maxOpen = 8
    /// The shortest run written directly. Each direct write is one request to the device, waited for
    /// (and on a virtual machine an exit to the host): for small pieces that costs more than the copy
    /// into the page cache, whose write-behind sends the pieces out in large runs. Measured on 1 GiB
    /// downloads (`download_bench.sh`, medians of 3): 64 KiB pieces took 9.3 s through the cache against
    /// 14.2 s written directly, 256 KiB pieces 6.2 s against 5.0 s.
    static let minimumLength = 256 << 10
    /// `O_DIRECT` on Linux (not exported by the Glibc module).
    private static let directFlag: Int32 = 0o40000

    /// Per file: its direct descriptor, or `nil` when the file cannot be written this way.
    private var descriptors: [Int: Int32?] = [:]
    private var openCount = 0

    /// Whether a run of `buffer` at `offset` qualifies.
    static func isAligned(_ buffer: UnsafeRawBufferPointer, at offset: Int64) -> Bool {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return false }
        return Int(bitPattern: base) % alignment == 0 && buffer.count % alignment == 0 && offset % Int64(alignment) == 0
    }

    /// Writes `buffer` at `offset` of `file` directly when it can; returns `nil` when it could not (the
    /// caller writes it through the page cache), else the outcome (`0` or `errno`).
    func write(file: Int, through descriptor: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int64) -> Int32? {
        guard buffer.count >= Self.minimumLength, Self.isAligned(buffer, at: offset),
            let direct = self.descriptor(file: file, from: descriptor)
        else {
            return nil
        }
        guard let code = POSIXFile.writeAll(direct, buffer, at: offset, chunk: buffer.count) else { return 0 }
        if code == EINVAL {
            // The device wants a larger alignment, or the file system took the flag but not the write.
            close(file: file)
            descriptors[file] = .some(nil)
            return nil
        }
        return code
    }

    /// Writes `chunks`, back to back in `file` from `offset` (a run of contiguous pieces), directly in
    /// `pwritev` calls when the run qualifies as a whole; returns `nil` when it could not (the caller
    /// writes the chunks through the page cache), else the outcome (`0` or `errno`).
    func write(file: Int, through descriptor: Int32, _ chunks: [UnsafeRawBufferPointer], at offset: Int64) -> Int32? {
        guard chunks.count > 1 else {
            return chunks.first.flatMap { write(file: file, through: descriptor, $0, at: offset) }
        }
        var total = 0
        for chunk in chunks {
            guard Self.isAligned(chunk, at: offset) else { return nil }
            total += chunk.count
        }
        guard total >= Self.minimumLength, let direct = self.descriptor(file: file, from: descriptor) else {
            return nil
        }
        guard let code = POSIXFile.writeAll(direct, chunks, at: offset) else { return 0 }
        if code == EINVAL {
            close(file: file)
            descriptors[file] = .some(nil)
            return nil
        }
        return code
    }

    /// Closes every direct descriptor.
    func closeAll() {
        for file in Array(descriptors.keys) { close(file: file) }
        descriptors = [:]
    }

    private func descriptor(file: Int, from descriptor: Int32) -> Int32? {
        if let known = descriptors[file] { return known }
        if openCount >= Self.maxOpen {
            for (other, direct) in descriptors where direct != nil { close(file: other) }
        }
        let opened = POSIXFile.open("/proc/self/fd/\(descriptor)", O_WRONLY | Self.directFlag)
        guard opened >= 0 else {
            descriptors[file] = .some(nil)
            return nil
        }
        descriptors[file] = opened
        openCount += 1
        return opened
    }

    private func close(file: Int) {
        guard case .some(.some(let direct)) = descriptors[file] else { return }
        Glibc.close(direct)
        descriptors[file] = nil
        openCount -= 1
    }
}
