#if canImport(Glibc)
import Glibc
#endif

/// Gives the heap's free memory back to the kernel (glibc's `malloc_trim`), wherever it lies: glibc by itself
/// returns only what is free at the top of the heap, so the memory a burst of work allocated and freed (thousands
/// of sessions checking their data at a start) otherwise stays resident for the life of the daemon.
enum HeapTrim {
    /// Gives the free memory back now; returns whether any was (false where there is no `malloc_trim`).
    /// `malloc_trim` is not in the Glibc module: it is looked up.
    @discardableResult
    static func now() -> Bool {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "malloc_trim") else { return false }
        let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        return trim(0) != 0
        #else
        return false
        #endif
    }
}
