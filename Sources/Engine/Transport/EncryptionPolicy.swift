/// Whether peer connections use MSE/PE (the `encryption` setting).
public enum EncryptionPolicy: String, Sendable, CaseIterable, Codable {
    /// Dial encrypted first and fall back to plaintext (remembered per peer); accept both.
    case prefer
    /// Only RC4-encrypted connections, both ways: plaintext handshakes are refused.
    case require
    /// Never encrypt: dial plaintext only; encrypted handshakes are refused.
    case disable

    /// The crypto_provide bits offered when dialling encrypted, and accepted when answering.
    var methods: MSEMethods {
        switch self {
        case .prefer: return [.plaintext, .rc4]
        case .require: return .rc4
        case .disable: return []
        }
    }
}

/// The payload methods of MSE/PE (crypto_provide, crypto_select).
public struct MSEMethods: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// After the handshake the payload goes unencrypted (the handshake itself was obfuscated).
    public static let plaintext = MSEMethods(rawValue: 0x01)
    /// The payload is RC4-encrypted.
    public static let rc4 = MSEMethods(rawValue: 0x02)
}
