import Crypto

/// The Diffie-Hellman half of MSE/PE: a 160-bit private key, its public key 2^x mod P, and the
/// shared secret S = Y^x mod P, all as 96 big-endian bytes; and the hashes the handshake is made of.
public struct MSEKeys: Sendable {
    /// The length of a public key and of S.
    static let keyLength = 96
    /// The private key's length in bytes (160 bits, as the specification recommends).
    static let privateKeyLength = 20

    /// The private key x (20 bytes).
    let privateKey: [UInt8]
    /// The public key 2^x mod P.
    public let publicKey: [UInt8]

    /// A fresh key pair from the system's secure random source (through swift-crypto).
    public init() {
        let key = SymmetricKey(size: SymmetricKeySize(bitCount: Self.privateKeyLength * 8))
        self.init(privateKey: key.withUnsafeBytes { Array($0) })
    }

    /// The key pair for a given private key (tests).
    public init(privateKey: [UInt8]) {
        self.privateKey = privateKey
        publicKey = MSEModulus.prime.powerOfTwo(privateKey)
    }

    /// S for the peer's public key; throws ``MSEError/invalidPublicKey`` for 0, 1, P-1 or a number
    /// not below P (a key that would give a predictable secret).
    public func sharedSecret(with peerKey: [UInt8]) throws(MSEError) -> [UInt8] {
        guard peerKey.count == Self.keyLength else { throw .invalidPublicKey }
        let modulus = MSEModulus.prime
        var pMinusOne = MSEModulus.bigEndian(modulus.limbs)
        pMinusOne[Self.keyLength - 1] -= 1  // P is odd: no borrow
        let isSmall = peerKey.dropLast().allSatisfy { $0 == 0 } && peerKey[Self.keyLength - 1] <= 1
        guard modulus.isBelow(peerKey), !isSmall, peerKey != pMinusOne else {
            throw .invalidPublicKey
        }
        return modulus.power(peerKey, privateKey)
    }

    /// SHA-1 of the concatenated parts (HASH of the specification).
    public static func hash(_ parts: [UInt8]...) -> [UInt8] {
        var sha = Insecure.SHA1()
        for part in parts { sha.update(data: part) }
        return Array(sha.finalize())
    }

    /// The RC4 cipher keyed HASH(`label`, S, SKEY) with its first 1024 bytes discarded; `label` is
    /// "keyA" (what the initiator sends) or "keyB" (what the responder sends).
    public static func cipher(_ label: String, secret: [UInt8], skey: [UInt8]) -> RC4 {
        var rc4 = RC4(key: hash(Array(label.utf8), secret, skey))
        rc4.discard(1024)
        return rc4
    }
}
