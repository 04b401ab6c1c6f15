/// Modular exponentiation modulo the 768-bit prime of MSE/PE (the Oakley group 1 prime), written for
/// that one fixed size: twelve 64-bit limbs, least significant first, and Montgomery multiplication
/// (the CIOS method), so that a handshake costs two exponentiations with 160-bit exponents and no
/// allocation past a few fixed arrays. Constant in the length of its inputs: every number is 96 bytes.
struct MSEModulus: Sendable {
    /// The number of 64-bit limbs in a 768-bit number.
    static let limbCount = 12

    /// The prime P of the specification (big-endian hex).
    static let primeHex =
        "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
        + "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563"

    /// The shared instance for P.
    static let prime = MSEModulus(bigEndian: hexBytes(primeHex))

    /// The modulus, least significant limb first.
    let limbs: [UInt64]
    /// -modulus⁻¹ mod 2⁶⁴, the factor of each Montgomery reduction step.
    private let inverse: UInt64
    /// R² mod modulus with R = 2⁷⁶⁸: multiplying by it moves a number into Montgomery form.
    private let rSquared: [UInt64]
    /// R mod modulus: 1 in Montgomery form.
    private let one: [UInt64]

    /// The modulus read from 96 big-endian bytes; it must be odd.
    init(bigEndian bytes: [UInt8]) {
        precondition(bytes.count == Self.limbCount * 8 && bytes.last! & 1 == 1, "a 768-bit odd modulus")
        let limbs = Self.limbs(bigEndian: bytes)
        self.limbs = limbs
        // Newton's iteration doubles the correct low bits each time: 1, 2, 4, ..., 64 bits.
        var inverse: UInt64 = 1
        for _ in 0..<6 { inverse = inverse &* (2 &- limbs[0] &* inverse) }
        self.inverse = 0 &- inverse
        // R mod m, then R² mod m, by doubling 1 modulo m (768 and 1536 times); done once per modulus.
        var value = [UInt64](repeating: 0, count: Self.limbCount)
        value[0] = 1
        for _ in 0..<(Self.limbCount * 64) { Self.doubleModulo(&value, limbs) }
        one = value
        for _ in 0..<(Self.limbCount * 64) { Self.doubleModulo(&value, limbs) }
        rSquared = value
    }

    /// `base`^`exponent` mod the modulus; `base` and the result are 96 big-endian bytes (`base` below
    /// the modulus), `exponent` big-endian bytes of any length.
    func power(_ base: [UInt8], _ exponent: [UInt8]) -> [UInt8] {
        let b = multiply(Self.limbs(bigEndian: base), rSquared)
        return exponentiate(exponent) { $0 = multiply($0, b) }
    }

    /// True when the 96 big-endian bytes are a number below the modulus.
    /// 2^exponent mod m, the public key of a Diffie-Hellman pair (the generator is 2): the same
    /// square-and-multiply, but each multiplication by the base is a doubling modulo m (a shift and
    /// at most one subtraction; doubling commutes with the Montgomery form), so a 160-bit exponent
    /// costs 160 products instead of about 240.
    func powerOfTwo(_ exponent: [UInt8]) -> [UInt8] {
        exponentiate(exponent) { Self.doubleModulo(&$0, limbs) }
    }

    /// Square-and-multiply from the most significant bit, in Montgomery form: `timesBase` multiplies
    /// the running value by the base; the result leaves Montgomery form as 96 big-endian bytes.
    private func exponentiate(_ exponent: [UInt8], timesBase: (inout [UInt64]) -> Void) -> [UInt8] {
        var result = one
        for byte in exponent {
            for bit in (0..<8).reversed() {
                result = multiply(result, result)
                if (byte >> UInt8(bit)) & 1 == 1 { timesBase(&result) }
            }
        }
        var plain = [UInt64](repeating: 0, count: Self.limbCount)
        plain[0] = 1
        return Self.bigEndian(multiply(result, plain))
    }

    func isBelow(_ bytes: [UInt8]) -> Bool {
        Self.compare(Self.limbs(bigEndian: bytes), limbs) < 0
    }

    /// a·b·R⁻¹ mod m for a, b < m (Montgomery multiplication, CIOS). The limbs are read and summed through
    /// unchecked pointers into a stack buffer: with the arrays' bounds checks in its inner loops the
    /// products took about twice as long (a handshake's two exponentiations about 0.4 ms).
    private func multiply(_ a: [UInt64], _ b: [UInt64]) -> [UInt64] {
        let n = Self.limbCount
        precondition(a.count == n && b.count == n)
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n + 2) { t in
            t.initialize(repeating: 0)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    limbs.withUnsafeBufferPointer { m in
                        for i in 0..<n {
                            var carry: UInt64 = 0
                            let bi = b[i]
                            for j in 0..<n {
                                (t[j], carry) = Self.multiplyAdd(a[j], bi, t[j], carry)
                            }
                            let (sum, overflow) = t[n].addingReportingOverflow(carry)
                            t[n] = sum
                            t[n + 1] = overflow ? 1 : 0
                            let factor = t[0] &* inverse
                            (_, carry) = Self.multiplyAdd(factor, m[0], t[0], 0)
                            for j in 1..<n {
                                (t[j - 1], carry) = Self.multiplyAdd(factor, m[j], t[j], carry)
                            }
                            let (top, topOverflow) = t[n].addingReportingOverflow(carry)
                            t[n - 1] = top
                            t[n] = t[n + 1] &+ (topOverflow ? 1 : 0)
                        }
                    }
                }
            }
            var result = Array(t[0..<n])
            if t[n] != 0 || Self.compare(result, limbs) >= 0 { Self.subtract(&result, limbs) }
            return result
        }
    }

    /// x·y + u + v as (low, high) limbs; never overflows 128 bits.
    @inline(__always)
    private static func multiplyAdd(_ x: UInt64, _ y: UInt64, _ u: UInt64, _ v: UInt64) -> (UInt64, UInt64) {
        let (high, low) = x.multipliedFullWidth(by: y)
        let (s1, o1) = low.addingReportingOverflow(u)
        let (s2, o2) = s1.addingReportingOverflow(v)
        return (s2, high &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0))
    }

    /// value = 2·value mod m, for value < m.
    private static func doubleModulo(_ value: inout [UInt64], _ m: [UInt64]) {
        var carry: UInt64 = 0
        for i in 0..<value.count {
            let next = value[i] >> 63
            value[i] = (value[i] << 1) | carry
            carry = next
        }
        if carry != 0 || compare(value, m) >= 0 { subtract(&value, m) }
    }

    /// value -= m (wrapping at 2⁷⁶⁸, which cancels a carry out of the top limb).
    private static func subtract(_ value: inout [UInt64], _ m: [UInt64]) {
        var borrow: UInt64 = 0
        for i in 0..<value.count {
            let (d1, o1) = value[i].subtractingReportingOverflow(m[i])
            let (d2, o2) = d1.subtractingReportingOverflow(borrow)
            value[i] = d2
            borrow = (o1 ? 1 : 0) + (o2 ? 1 : 0)
        }
    }

    /// -1, 0 or 1 as a is below, equal to or above b.
    private static func compare(_ a: [UInt64], _ b: [UInt64]) -> Int {
        for i in (0..<a.count).reversed() where a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
        return 0
    }

    static func limbs(bigEndian bytes: [UInt8]) -> [UInt64] {
        precondition(bytes.count == limbCount * 8)
        var limbs = [UInt64](repeating: 0, count: limbCount)
        for (index, byte) in bytes.enumerated() {
            let fromEnd = bytes.count - 1 - index
            limbs[fromEnd / 8] |= UInt64(byte) << UInt64((fromEnd % 8) * 8)
        }
        return limbs
    }

    static func bigEndian(_ limbs: [UInt64]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: limbCount * 8)
        for fromEnd in 0..<bytes.count {
            bytes[bytes.count - 1 - fromEnd] = UInt8(
                truncatingIfNeeded: limbs[fromEnd / 8] >> UInt64((fromEnd % 8) * 8))
        }
        return bytes
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { i in
            UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16)!
        }
    }
}
