extension Dictionary {
    /// Runs `change` on the value at `key` where the table stores it and returns what it returns, or nil
    /// when there is no value at `key`.
    ///
    /// `table[key]?.change()` and `table[key]!.change()` are not in place: the standard library's
    /// optional accessor moves the value out and copies it back in, a retain and a release of every
    /// reference the value holds (for a piece's assembly, its buffer and two arrays, once per block).
    @inline(__always) @discardableResult
    mutating func modifyValue<Result>(forKey key: Key, _ change: (inout Value) throws -> Result) rethrows -> Result? {
        guard let index = index(forKey: key) else { return nil }
        return try change(&values[index])
    }
}
