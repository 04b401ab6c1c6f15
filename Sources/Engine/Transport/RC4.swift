/// The RC4 stream cipher, as MSE/PE uses it: one instance per direction, its key stream continuing
/// across every byte of the connection. RC4 is weak as cryptography; MSE uses it to obfuscate traffic,
/// and every client speaks it, so it is written here (no kept library offers it) and tested against
/// the vectors of RFC 6229.
public struct RC4: Sendable {
    private var state: [UInt8]
    private var i: UInt8 = 0
    private var j: UInt8 = 0

    /// A cipher keyed with `key` (1 to 256 bytes), its key stream starting at byte 0.
    public init(key: [UInt8]) {
        precondition(!key.isEmpty && key.count <= 256, "an RC4 key of 1 to 256 bytes")
        var state = (0...255).map { UInt8($0) }
        var j: UInt8 = 0
        for i in 0..<256 {
            j = j &+ state[i] &+ key[i % key.count]
            state.swapAt(i, Int(j))
        }
        self.state = state
    }

    /// Skips `count` bytes of key stream (MSE discards the first 1024).
    public mutating func discard(_ count: Int) {
        for _ in 0..<count { _ = nextByte() }
    }

    /// XORs `bytes` with the key stream (encrypting and decrypting are the same).
    public mutating func apply(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] ^= nextByte() }
    }

    /// XORs the buffer's readable bytes with the key stream, in place: eight bytes of key stream are
    /// gathered in a word and XORed with eight bytes of the buffer at once (a connection's every byte
    /// goes through here, so this is what an encrypted transfer costs).
    public mutating func apply(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        let count = buffer.count
        state.withUnsafeMutableBufferPointer { table in
            let s = table.baseAddress!
            var i = self.i
            var j = self.j
            @inline(__always) func next() -> UInt8 {
                i = i &+ 1
                let si = s[Int(i)]
                j = j &+ si
                let sj = s[Int(j)]
                s[Int(i)] = sj
                s[Int(j)] = si
                return s[Int(si &+ sj)]
            }
            var offset = 0
            while offset + 8 <= count {
                var key: UInt64 = 0
                for shift in stride(from: 0 as UInt64, to: 64, by: 8) { key |= UInt64(next()) << shift }
                let word = UInt64(littleEndian: (base + offset).loadUnaligned(as: UInt64.self))
                (base + offset).storeBytes(of: (word ^ key).littleEndian, as: UInt64.self)
                offset += 8
            }
            while offset < count {
                base.storeBytes(
                    of: base.load(fromByteOffset: offset, as: UInt8.self) ^ next(), toByteOffset: offset, as: UInt8.self
                )
                offset += 1
            }
            self.i = i
            self.j = j
        }
    }

    /// The key stream's next byte.
    @inline(__always)
    private mutating func nextByte() -> UInt8 {
        i = i &+ 1
        j = j &+ state[Int(i)]
        state.swapAt(Int(i), Int(j))
        return state[Int(state[Int(i)] &+ state[Int(j)])]
    }
}
