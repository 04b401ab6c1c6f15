import ArgumentParser
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
        try store.openStore().settings.set(known.name, to: normalized)
        print("\(known.name) = \(known.shown(normalized))")
    }
}
