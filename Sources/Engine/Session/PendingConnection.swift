import NIOCore
import Synchronization

/// An accepted connection on its way from the event loop to the task that serves it, through a
/// queue that drops what it holds when it ends or its reader is cancelled: NIO's stream of a
/// server's accepted channels (a channel accepted while the server closes is dropped on the loop),
/// or the uTP acceptor's stream.
///
/// NIO hands an `NIOAsyncChannel`'s writer to whoever holds the channel once it is active, and
/// traps when the last copy goes without the writer finished or the channel closed. A pending
/// connection dropped on the way is closed through its async channel instead (which finishes the
/// writer); one taken is the taker's to run (`executeThenClose`).
final class PendingConnection<Inbound: Sendable, Outbound: Sendable>: Sendable {
    private let connection: Mutex<NIOAsyncChannel<Inbound, Outbound>?>

    init(_ connection: NIOAsyncChannel<Inbound, Outbound>) {
        self.connection = Mutex(connection)
    }

    /// The connection, the first time only.
    func take() -> NIOAsyncChannel<Inbound, Outbound>? {
        connection.withLock { $0.take() }
    }

    deinit {
        guard let connection = connection.withLock({ $0.take() }) else { return }
        // Closed through the async channel, which finishes its writer; the task holds it until then.
        Task { try? await connection.executeThenClose { _, _ in } }
    }
}
