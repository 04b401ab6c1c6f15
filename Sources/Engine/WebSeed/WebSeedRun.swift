import NIOCore

/// Blocks asked of a web seed in one go: consecutive blocks of one or more consecutive pieces, so
/// that they are one stretch of the torrent's byte stream (cut per file into ``WebSeedSpan``s).
public struct WebSeedRun: Hashable, Sendable {
    /// The blocks, in stream order, each starting where the one before ended.
    public var blocks: [BlockRequest]
    /// Their bytes in the torrent's stream.
    public var range: Range<Int64>

    /// The longest run at the start of `requests` (sorted in stream order first), and the requests
    /// left out of it (to give back to the picker). `nil` when `requests` is empty.
    public static func first(
        of requests: [BlockRequest], layout: PieceLayout
    ) -> (run: WebSeedRun, rest: [BlockRequest])? {
        let sorted = requests.sorted()
        guard let head = sorted.first else { return nil }
        func start(_ request: BlockRequest) -> Int64 { layout.offset(of: request.piece) + Int64(request.begin) }
        var end = start(head) + Int64(head.length)
        var count = 1
        while count < sorted.count, start(sorted[count]) == end {
            end += Int64(sorted[count].length)
            count += 1
        }
        return (WebSeedRun(blocks: Array(sorted[..<count]), range: start(head)..<end), Array(sorted[count...]))
    }
}

/// Cuts the bytes of a ``WebSeedRun``, as they arrive in stream order, into its blocks: each block is
/// handed over once whole, so at most one block is held besides what NIO buffers.
public struct WebSeedBlockCutter: Sendable {
    private let blocks: [BlockRequest]
    private var next = 0
    private var current: ByteBuffer?

    /// A cutter for the blocks of `run`.
    public init(_ run: WebSeedRun) {
        blocks = run.blocks
    }

    /// True once every block was handed over.
    public var isDone: Bool { next == blocks.count }

    /// The blocks not handed over yet.
    public var remaining: ArraySlice<BlockRequest> { blocks[next...] }

    /// Takes the next bytes of the run; returns the blocks they completed. Bytes past the run's end
    /// are ignored (the response reader never lets them through).
    public mutating func append(_ bytes: ByteBufferView) -> [(BlockRequest, ByteBuffer)] {
        var completed: [(BlockRequest, ByteBuffer)] = []
        var rest = bytes[...]
        while !rest.isEmpty, next < blocks.count {
            let length = Int(blocks[next].length)
            var buffer = current ?? ByteBufferAllocator().buffer(capacity: length)
            let take = min(length - buffer.readableBytes, rest.count)
            buffer.writeBytes(rest.prefix(take))
            rest = rest.dropFirst(take)
            if buffer.readableBytes == length {
                completed.append((blocks[next], buffer))
                current = nil
                next += 1
            } else {
                current = buffer
            }
        }
        return completed
    }

    /// Takes `count` zero bytes (a pad file's, never asked of the server).
    public mutating func appendZeros(_ count: Int) -> [(BlockRequest, ByteBuffer)] {
        var zeros = ByteBufferAllocator().buffer(capacity: count)
        zeros.writeRepeatingByte(0, count: count)
        return append(zeros.readableBytesView)
    }
}
