import ArgumentParser
import Engine
import Foundation

extension ConfigKey {
    /// The settings of the Transmission RPC server of `btq run --rpc`.
    static let rpcKeys: [ConfigKey] = [
        ConfigKey(
            name: RPCSettings.enabledKey, help: "`btq run` serves the Transmission RPC, web interface and metrics",
            defaultValue: "off", minimum: 0, kind: .boolean),
        ConfigKey(
            name: RPCSettings.bindAddressKey,
            help: "address the RPC server listens on (any other than loopback needs rpc_password)",
            defaultValue: "127.0.0.1", minimum: 0, kind: .address),
        ConfigKey(
            name: RPCSettings.portKey, help: "TCP port of the RPC server", defaultValue: "9091", minimum: 1,
            kind: .port),
        ConfigKey(
            name: RPCSettings.usernameKey, help: "user name the RPC server asks for (with rpc_password)",
            defaultValue: "", minimum: 0, kind: .text),
        ConfigKey(
            name: RPCSettings.passwordKey,
            help: "password the RPC server asks for (stored hashed, never shown; empty: none)", defaultValue: "",
            minimum: 0, kind: .password),
        ConfigKey(
            name: RPCSettings.whitelistKey,
            help: "host names a request's Host header may name besides addresses and localhost (*.example.org)",
            defaultValue: "", minimum: 0, kind: .hostNames),
        ConfigKey(
            name: RPCSettings.webDirectoryKey,
            help: "folder of the Transmission web interface (empty: the distribution's, if installed)",
            defaultValue: "", minimum: 0, kind: .folder),
    ]

    /// What `btq config get` shows of a stored value: a password only as `(set)`.
    func shown(_ stored: String) -> String {
        guard kind == .password else { return stored }
        return stored.isEmpty ? "" : "(set)"
    }

    func normalizeRPC(_ text: String) throws -> String {
        switch kind {
        case .text:
            guard text.utf8.count <= 256,
                !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else {
                throw ValidationError("\(name) must be at most 256 bytes without control characters.")
            }
            return text
        case .password:
            guard text.utf8.count <= 1024 else { throw ValidationError("\(name) must be at most 1024 bytes.") }
            return text.isEmpty ? "" : RPCPassword.hashing(text).stored
        case .hostNames:
            let items = text.split(whereSeparator: { $0 == "," || $0 == " " }).map { $0.lowercased() }
            if let bad = items.first(where: { item in
                item.isEmpty || item.utf8.count > 253
                    || !item.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-.*_".contains($0)) }
            }) {
                throw ValidationError(
                    "\(name) must be host names separated by commas, such as nas.local; not '\(bad)'.")
            }
            return items.joined(separator: ",")
        case .folder:
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { return "" }
            var isFolder: ObjCBool = false
            let path = URL(fileURLWithPath: trimmed).standardizedFileURL.path
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                throw ValidationError("\(name): \(path) is not a folder.")
            }
            return path
        default:
            return text
        }
    }
}
