import ArgumentParser
import Testing

@testable import btq

/// Every command names itself. Without `commandName`, ArgumentParser derives each subcommand's name from
/// `String(describing:)` of its type, a protocol-conformance scan of every loaded library, for every
/// subcommand on every run: 35% of the instructions of a `btq list`.
@Suite struct CommandNameTests {
    /// Each command below `parent` (and `parent` itself) with the name it must have: its type's name in
    /// lower case, less its parent's type name (`ConfigGet` under `Config` is `get`).
    static func commands(
        under parent: any ParsableCommand.Type, expected: String
    ) -> [(type: any ParsableCommand.Type, expected: String)] {
        let parentName = String(describing: parent)
        return [(parent, expected)]
            + parent.configuration.subcommands.flatMap { child in
                var name = String(describing: child)
                if name.hasPrefix(parentName), name != parentName { name.removeFirst(parentName.count) }
                return commands(under: child, expected: name.lowercased())
            }
    }

    @Test func everyCommandNamesItselfAsItsTypeIsNamed() {
        let all = Self.commands(under: Btq.self, expected: "btq")
        #expect(all.count > 20)
        for (type, expected) in all {
            #expect(type.configuration.commandName == expected, "\(type)")
        }
    }

    @Test func siblingsHaveDistinctNames() {
        for (type, _) in Self.commands(under: Btq.self, expected: "btq") {
            let names = type.configuration.subcommands.compactMap { $0.configuration.commandName }
            #expect(Set(names).count == names.count, "\(type)")
        }
    }
}
