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

    /// XORs the buffer's readable bytes with the key stream, in place.
    public mutating func apply(_ buffer: UnsafeMutableRawBufferPointer) {
        state.withUnsafeMutableBufferPointer { s in
            var i = self.i
            var j = self.j
            for index in buffer.indices {
                i = i &+ 1
                j = j &+ s[Int(i)]
                s.swapAt(Int(i), Int(j))
                buffer[index] ^= s[Int(s[Int(i)] &+ s[Int(j)])]
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
