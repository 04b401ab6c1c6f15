import NIOCore
import Synchronization

/// A buffer handed to ``PieceStorage/readBuffer(piece:begin:length:reusing:)`` to be read into again.
/// The read takes it out (``take()``), so the box keeps no reference and the read's copy is the only
/// one left when nothing else holds the buffer: then the bytes go into its pages in place. Were it
/// passed as a plain `ByteBuffer`, the caller's and the closures' copies would keep it shared, and
/// every read would be copied on write into fresh pages.
public final class ReusableBuffer: Sendable {
    private let slot: Mutex<ByteBuffer?>

    /// A box holding `buffer`; pass it a value no variable keeps (`spare.take()`).
    public init(_ buffer: consuming ByteBuffer?) {
        slot = Mutex(buffer)
    }

    /// The buffer, once; `nil` after.
    public func take() -> ByteBuffer? {
        slot.withLock { $0.take() }
    }
}
