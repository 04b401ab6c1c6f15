import ArgumentParser
import Store

/// `btq config unset`: puts a setting back to its default.
struct ConfigUnset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset", abstract: "Put a setting back to its default.")

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The setting.", valueName: "key"))
    var key: String

    func validate() throws {
        _ = try ConfigKey.named(key)
    }

    func run() throws {
        let known = try ConfigKey.named(key)
        try store.openStore().settings.set(known.name, to: nil)
        print("\(known.name) = \(known.defaultValue) (default)")
    }
}
