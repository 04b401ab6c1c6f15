import ArgumentParser

/// `btq config`: the settings kept in the database.
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show or change settings.",
        discussion: """
            Settings live in the database, so a running `btq run` follows them. Known settings: \
            \(ConfigKey.all.map { "\($0.name) (\($0.help), default \($0.defaultValue))" }.joined(separator: "; ")).
            """,
        subcommands: [ConfigGet.self, ConfigSet.self, ConfigUnset.self],
        defaultSubcommand: ConfigGet.self
    )
}
