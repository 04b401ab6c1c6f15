import ArgumentParser
import Foundation

/// A setting `btq config` knows: its name, what it means, its default and the values it accepts.
struct ConfigKey: Sendable {
    let name: String
    let help: String
    let defaultValue: String
    /// The smallest value allowed (every known setting is an integer).
    let minimum: Int

    /// Every known setting, in the order `btq config get` lists them.
    static let all: [ConfigKey] = [
        ConfigKey(
            name: QueueRunner.maxActiveSetting, help: "torrents `btq run` downloads at once", defaultValue: "3",
            minimum: 1),
        ConfigKey(name: "max_active_seeds", help: "torrents seeding at once", defaultValue: "3", minimum: 0),
        ConfigKey(
            name: "stall_timeout", help: "seconds without data before a torrent gives up its slot",
            defaultValue: "300", minimum: 10),
    ]

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

    /// `text` as this setting stores it (a canonical integer).
    ///
    /// - Throws: `ValidationError` when it is not an integer of at least ``minimum``.
    func normalize(_ text: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "+") }), let value = Int(trimmed)
        else {
            throw ValidationError("\(name) must be an integer, not '\(text)'.")
        }
        guard value >= minimum else { throw ValidationError("\(name) must be at least \(minimum), not \(value).") }
        return String(value)
    }
}
