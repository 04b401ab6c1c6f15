import Crypto

extension InfoHashes {
    /// Whether `info` is the info dictionary these hashes name: its SHA-1 equals the v1 hash and its
    /// SHA-256 the v2 hash, for each hash present.
    public func matches(info: [UInt8]) -> Bool {
        if let v1, Array(Insecure.SHA1.hash(data: info)) != v1.bytes { return false }
        if let v2, Array(SHA256.hash(data: info)) != v2.bytes { return false }
        return true
    }
}
