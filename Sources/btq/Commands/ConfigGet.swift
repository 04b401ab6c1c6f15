import ArgumentParser
import Store

/// `btq config get`: one setting's value, or all of them.
struct ConfigGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Show a setting, or every setting (defaults marked).")

    @OptionGroup var store: StoreOptions

    @Argument(help: ArgumentHelp("The setting; all of them when left out.", valueName: "key"))
    var key: String?

    func validate() throws {
        if let key { _ = try ConfigKey.named(key) }
    }

    func run() throws {
        let database = try store.openStoreForReading()
        if let key {
            let known = try ConfigKey.named(key)
            print(known.shown(try database.settings.value(known.name) ?? known.defaultValue))
            return
        }
        let stored = try database.settings.all()
        // A long value (a list of bootstrap nodes) is shortened here; `btq config get KEY` prints it whole.
        var table = Table([.init("KEY"), .init("VALUE", .right, maxWidth: 40), .init("")])
        for known in ConfigKey.all {
            let value = stored[known.name]
            table.append([known.name, known.shown(value ?? known.defaultValue), value == nil ? "(default)" : ""])
        }
        print(table.render(), terminator: "")
    }
}
