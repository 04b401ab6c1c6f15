import ArgumentParser
import Engine
import Foundation

/// A setting `btq config` knows: its name, what it means, its default and the values it accepts.
struct ConfigKey: Sendable {
    let name: String
    let help: String
    let defaultValue: String
    /// The smallest value allowed (for integer settings).
    let minimum: Int
    /// What kind of value it takes.
    var kind: Kind = .integer

    /// The kinds of values settings take.
    enum Kind: Sendable, Equatable {
        /// An integer of at least ``minimum``.
        case integer
        /// A number of torrents at once, at least ``minimum``, or -1 (also `unlimited`) for no limit.
        case slots
        /// Bytes per second, with K/M/G suffixes; 0 means no limit.
        case rate
        /// Bytes, with K/M/G suffixes, at least ``minimum``.
        case size
        /// A share ratio such as 1.5; 0 means no limit.
        case ratio
        /// Seconds, or with an s/m/h/d suffix; 0 means no limit.
        case duration
        /// A TCP port, 1...65535.
        case port
        /// A numeric IPv4 or IPv6 address.
        case address
        /// On or off (also yes/no, true/false, 1/0), stored as `on` or `off`.
        case boolean
        /// A list of `host:port` separated by commas (or spaces), stored comma-separated; empty means none.
        case hostPorts
        /// A PEM file of CA certificates, stored as an absolute path; empty means none.
        case caFile
        /// One of a few words (lowercase).
        case choice([String])
        /// A line of text (a user name), at most 256 bytes, no control characters.
        case text
        /// A password, stored hashed (``RPCPassword``); never shown.
        case password
        /// Host names or `*.domain` patterns separated by commas (or spaces); empty means none.
        case hostNames
        /// A folder, stored as an absolute path; empty means none.
        case folder
    }

    /// Every known setting, in the order `btq config get` lists them.
    static let all: [ConfigKey] =
        [
            ConfigKey(
                name: QueueManager.maxActiveSetting,
                help: "torrents `btq run` downloads at once; unlimited (or -1) for no limit", defaultValue: "3",
                minimum: 1, kind: .slots),
            ConfigKey(
                name: "max_active_seeds", help: "torrents seeding at once; unlimited (or -1) for no limit",
                defaultValue: "3", minimum: 0, kind: .slots),
            ConfigKey(
                name: TransferSettings.checkAheadKey,
                help: "queued torrents that never ran whose data is checked at once while every download slot is taken "
                    + "(0: none; at most \(TransferSettings.maxCheckAhead))",
                defaultValue: String(TransferSettings.defaultCheckAhead), minimum: 0, kind: .integer),
            ConfigKey(
                name: "stall_timeout", help: "seconds without data before a torrent gives up its slot",
                defaultValue: "300", minimum: 10),
        ] + transferKeys + rpcKeys

    static var names: String { all.map(\.name).joined(separator: ", ") }

    /// The known setting called `name`.
    ///
    /// - Throws: `ValidationError` naming the known settings.
    static func named(_ name: String) throws -> ConfigKey {
        guard let key = all.first(where: { $0.name == name }) else {
            throw ValidationError("Unknown setting '\(name)'; known settings: \(names).")
        }
        return key
    }

    /// `text` as this setting stores it (a canonical integer, `on`/`off`, a comma-separated list).
    ///
    /// - Throws: `ValidationError` when it is not a value of its ``kind`` (for an integer, one of at least
    ///   ``minimum``).
    func normalize(_ text: String) throws -> String {
        switch kind {
        case .integer:
            return try normalizeInteger(text)
        case .slots:
            let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
            if trimmed == "unlimited" || trimmed == "-1" { return "-1" }
            guard trimmed.allSatisfy({ $0.isASCII && $0.isNumber }), !trimmed.isEmpty else {
                throw ValidationError("\(name) must be a number of torrents, or -1 (unlimited), not '\(text)'.")
            }
            return try normalizeInteger(trimmed)
        case .rate:
            guard let value = SettingText.rate(text) else {
                throw ValidationError(
                    "\(name) must be bytes per second such as 2M, 512K or 0 (no limit), not '\(text)'.")
            }
            return String(value)
        case .size:
            guard let value = SettingText.rate(text) else {
                throw ValidationError("\(name) must be bytes such as 4M, 512K or 1G, not '\(text)'.")
            }
            guard value >= minimum else {
                throw ValidationError("\(name) must be at least \(minimum) bytes, not \(value).")
            }
            return String(value)
        case .ratio:
            guard let value = SettingText.ratio(text) else {
                throw ValidationError("\(name) must be a ratio such as 2 or 1.5, or 0 (no limit), not '\(text)'.")
            }
            return value == value.rounded() ? String(Int64(value)) : String(value)
        case .duration:
            guard let value = SettingText.duration(text) else {
                throw ValidationError("\(name) must be seconds, or a span such as 90m, 12h or 7d, not '\(text)'.")
            }
            guard value >= minimum else {
                throw ValidationError("\(name) must be at least \(minimum) seconds, not \(value).")
            }
            return String(value)
        case .port:
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard let value = Int(trimmed), (1...65535).contains(value) else {
                throw ValidationError("\(name) must be a port number 1...65535, not '\(text)'.")
            }
            return String(value)
        case .address:
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard let value = SettingText.ipAddress(trimmed) else {
                throw ValidationError("\(name) must be a numeric IPv4 or IPv6 address such as 0.0.0.0, not '\(text)'.")
            }
            return value
        case .boolean:
            guard let value = SettingText.boolean(text) else {
                throw ValidationError("\(name) must be on or off (or yes/no, true/false, 1/0), not '\(text)'.")
            }
            return value ? "on" : "off"
        case .hostPorts:
            let items = SettingText.list(text)
            if let bad = items.first(where: { PeerAddress(parsing: $0) == nil }) {
                throw ValidationError(
                    "\(name) must be host:port items separated by commas, such as router.bittorrent.com:6881 or "
                        + "[2001:db8::1]:6881 (empty for none); '\(bad)' is not host:port.")
            }
            return items.joined(separator: ",")
        case .caFile:
            return try normalizeCAFile(text)
        case .choice(let words):
            let word = text.trimmingCharacters(in: .whitespaces).lowercased()
            guard words.contains(word) else {
                throw ValidationError("\(name) must be one of \(words.joined(separator: ", ")), not '\(text)'.")
            }
            return word
        case .text, .password, .hostNames, .folder:
            return try normalizeRPC(text)
        }
    }

    /// The absolute path of `text` once it proved to be a readable PEM file of certificates.
    private func normalizeCAFile(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return "" }
        let path = URL(fileURLWithPath: trimmed).standardizedFileURL.path
        do {
            _ = try TLSClientSettings(extraCAFile: path).makeContext()
        } catch {
            throw ValidationError("\(name): \(error).")
        }
        return path
    }

    private func normalizeInteger(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "+") }), let value = Int(trimmed)
        else {
            throw ValidationError("\(name) must be an integer, not '\(text)'.")
        }
        guard value >= minimum else { throw ValidationError("\(name) must be at least \(minimum), not \(value).") }
        return String(value)
    }
}
