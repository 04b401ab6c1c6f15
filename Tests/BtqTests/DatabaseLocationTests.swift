import Testing

@testable import btq

/// Where the queue database lives: --db, else $BTQ_DB, else $XDG_DATA_HOME/btq, else ~/.local/share/btq.
@Suite(.timeLimit(.minutes(5))) struct DatabaseLocationTests {
    static func path(db: String? = nil, _ environment: [String: String]) throws -> String {
        var options = try StoreOptions.parse(db.map { ["--db", $0] } ?? [])
        if db == nil { options.db = nil }
        return options.databasePath(environment: environment)
    }

    @Test func precedence() throws {
        let all = ["BTQ_DB": "/b/q.sqlite", "XDG_DATA_HOME": "/xdg", "HOME": "/home/u"]
        #expect(try Self.path(db: "/given.sqlite", all) == "/given.sqlite")
        #expect(try Self.path(all) == "/b/q.sqlite")
        #expect(try Self.path(["XDG_DATA_HOME": "/xdg", "HOME": "/home/u"]) == "/xdg/btq/btq.sqlite")
        #expect(try Self.path(["HOME": "/home/u"]) == "/home/u/.local/share/btq/btq.sqlite")
        // XDG_DATA_HOME must be absolute to count (the XDG spec); an empty BTQ_DB is ignored.
        #expect(
            try Self.path(["XDG_DATA_HOME": "relative", "BTQ_DB": "", "HOME": "/h"]) == "/h/.local/share/btq/btq.sqlite"
        )
    }
}
