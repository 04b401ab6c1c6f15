import Foundation

// Usage: MigrationEmbedder OUTPUT.swift NNNN_name.sql...
// Writes `let embeddedMigrations: [(name: String, sql: String)]` in file order.
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: MigrationEmbedder OUTPUT FILE.sql...\n".utf8))
    exit(2)
}
var text = "// Generated from Migrations/ by the EmbedMigrations plugin. Do not edit.\n\n"
text += "/// The SQL migrations of `Migrations/`, in the order they apply.\n"
text += "let embeddedMigrations: [(name: String, sql: String)] = [\n"
for path in arguments.dropFirst().sorted(by: { ($0 as NSString).lastPathComponent < ($1 as NSString).lastPathComponent }
) {
    let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    guard let sql = FileManager.default.contents(atPath: path).flatMap({ String(data: $0, encoding: .utf8) }) else {
        FileHandle.standardError.write(Data("MigrationEmbedder: cannot read \(path) as UTF-8\n".utf8))
        exit(1)
    }
    // A raw string with enough #s that no sequence inside the SQL can close it.
    var hashes = "#"
    while sql.contains("\"" + hashes) { hashes += "#" }
    text += "    (name: \"\(name)\", sql: \(hashes)\"\"\"\n\(sql)\n\"\"\"\(hashes)),\n"
}
text += "]\n"
do {
    try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    FileHandle.standardError.write(Data("MigrationEmbedder: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
