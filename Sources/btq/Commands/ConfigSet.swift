import ArgumentParser
import Engine
import Store

/// `btq config set`: changes a setting.
struct ConfigSet: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "Change a setting.")

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The setting.", valueName: "key"))
    var key: String

    @Argument(help: ArgumentHelp("Its new value.", valueName: "value"))
    var value: String

    func validate() throws {
        _ = try ConfigKey.named(key).normalize(value)
    }

    func run() throws {
        let known = try ConfigKey.named(key)
        let normalized = try known.normalize(value)
        let database = try store.openStore()
        if [TransferSettings.enableTCPKey, TransferSettings.enableUTPKey].contains(known.name) {
            // Both off would leave no way to reach a peer.
            var values = (try? database.settings.all()) ?? [:]
            values[known.name] = normalized
            try TransferSettings(values: values).checkTransports()
        }
        try database.settings.set(known.name, to: normalized)
        print("\(known.name) = \(known.shown(normalized))")
    }
}
