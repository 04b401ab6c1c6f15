import Foundation

/// `items.map(transform)` with each item transformed on its own thread at the same time
/// (`DispatchQueue.concurrentPerform`), for a few large, independent pieces of work; the results keep
/// the items' order.
public func concurrentMap<Item: Sendable, Result: Sendable>(
    _ items: [Item], _ transform: @escaping @Sendable (Item) -> Result
) -> [Result] {
    let slots = ResultSlots<Result>(count: items.count)
    DispatchQueue.concurrentPerform(iterations: items.count) { index in
        slots.set(index, transform(items[index]))
    }
    return slots.values()
}

/// The results of ``concurrentMap(_:_:)`` as their threads finish them.
private final class ResultSlots<Value: Sendable>: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `slots` is only touched with `lock` held.
    private let lock = NSLock()
    private var slots: [Value?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Value) {
        lock.withLock { slots[index] = value }
    }

    func values() -> [Value] {
        lock.withLock { slots.map { $0! } }
    }
}
