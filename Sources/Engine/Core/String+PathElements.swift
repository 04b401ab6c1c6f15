extension StringProtocol {
    /// The elements of a `/`-separated path, split at each `/` byte (empty elements kept).
    ///
    /// Not `split(separator: "/")`: that compares characters, and a `/` followed by a combining mark
    /// is one character with it, so an element starting with such a mark would stay joined to the
    /// one before it, `/` and all.
    public var pathElements: [String] {
        utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
    }
}
