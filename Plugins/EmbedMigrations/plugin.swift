import Foundation
import PackagePlugin

/// Turns the package's top-level `Migrations/*.sql` files into one generated Swift file inside the
/// target that uses this plugin, so the schema travels inside the binary (no `Bundle.module`).
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        let migrations = context.package.directoryURL.appending(path: "Migrations")
        let names = try FileManager.default.contentsOfDirectory(atPath: migrations.path())
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        let inputs = names.map { migrations.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) migrations",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path()] + inputs.map { $0.path() },
                inputFiles: inputs + [migrations],
                outputFiles: [output]
            )
        ]
    }
}
