import Crypto
import Foundation

/// The RPC password as it is stored: `sha256:<salt hex>:<digest hex>`, the digest of the salt followed by
/// the password's UTF-8 bytes. The password itself is never stored.
public struct RPCPassword: Sendable, Hashable {
    /// The stored form.
    public let stored: String
    private let salt: [UInt8]
    private let digest: [UInt8]

    /// The stored form's prefix.
    public static let scheme = "sha256"

    /// Reads a stored form; `nil` when it is not one.
    public init?(stored: String) {
        let parts = stored.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == Self.scheme, let salt = Self.bytes(hex: parts[1]),
            let digest = Self.bytes(hex: parts[2]), salt.count >= 8, digest.count == 32
        else { return nil }
        self.stored = stored
        self.salt = salt
        self.digest = digest
    }

    /// Hashes `password` with a fresh random salt of 16 bytes.
    public static func hashing(_ password: String) -> RPCPassword {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return hashing(password, salt: salt)
    }

    /// Hashes `password` with `salt` (tests give their own).
    public static func hashing(_ password: String, salt: [UInt8]) -> RPCPassword {
        let digest = Array(SHA256.hash(data: salt + Array(password.utf8)))
        // The form is built here, so it always reads back.
        return RPCPassword(stored: "\(scheme):\(hex(salt)):\(hex(digest))")!
    }

    /// True when `password` is the one hashed (compared in time independent of where they differ).
    public func matches(_ password: String) -> Bool {
        let candidate = Array(SHA256.hash(data: salt + Array(password.utf8)))
        var difference: UInt8 = 0
        for (a, b) in zip(candidate, digest) { difference |= a ^ b }
        return difference == 0
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func bytes(hex: Substring) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
