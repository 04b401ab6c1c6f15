/// An error of the store that the user can act on. Compare ``code`` to tell the cases apart; the
/// ``description`` is one clear sentence meant for the terminal.
///
/// Low-level failures (disk full, a file that is not a database) come through as GRDB's `DatabaseError`.
package struct StoreError: Error, CustomStringConvertible, Sendable {
    /// Identifies the case of a ``StoreError``; new codes may be added.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// No torrent matches a reference or an id.
        package static let notFound = Code("notFound")
        /// A reference matches several torrents.
        package static let ambiguous = Code("ambiguous")
        /// The operation needs a torrent that is in the queue, and this one was removed.
        package static let removed = Code("removed")
        /// The torrent is already in the queue.
        package static let duplicate = Code("duplicate")
        /// The database was written by a newer btq.
        package static let newerDatabase = Code("newerDatabase")
        /// A migration name this build does not know.
        package static let unknownMigration = Code("unknownMigration")
        /// Metadata that does not belong to the torrent it was given for.
        package static let mismatchedMetadata = Code("mismatchedMetadata")
        /// A value that the store cannot accept (a negative size, a bad peer port, ...).
        package static let invalidValue = Code("invalidValue")
        /// A stored value btq never writes (a NULL, a value of another type, a number out of range, a
        /// bitfield of the wrong length): the database was damaged or edited by hand.
        package static let damagedDatabase = Code("damagedDatabase")

        /// The code's name.
        package var description: String { name }
    }

    private enum Kind: Sendable {
        case notFound(reference: String)
        case ambiguous(reference: String, matches: [String])
        case removed(id: Int64)
        case duplicate(id: Int64, name: String)
        case newerDatabase(path: String?, unknownMigrations: [String])
        case unknownMigration(name: String, known: [String])
        case mismatchedMetadata(id: Int64)
        case invalidValue(String)
        case damaged(torrentId: Int64?, table: String, column: String, problem: String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// Which case this is.
    package var code: Code {
        switch kind {
        case .notFound: .notFound
        case .ambiguous: .ambiguous
        case .removed: .removed
        case .duplicate: .duplicate
        case .newerDatabase: .newerDatabase
        case .unknownMigration: .unknownMigration
        case .mismatchedMetadata: .mismatchedMetadata
        case .invalidValue: .invalidValue
        case .damaged: .damagedDatabase
        }
    }

    /// One sentence for the user.
    package var description: String {
        switch kind {
        case .notFound(let reference):
            "no torrent matches '\(reference)' (use a list id or at least 4 hex digits of an info-hash)"
        case .ambiguous(let reference, let matches):
            "'\(reference)' matches \(matches.count) torrents (\(matches.joined(separator: ", "))); "
                + "give more digits of the info-hash or the list id"
        case .removed(let id):
            "torrent \(id) was removed from the queue"
        case .duplicate(let id, let name):
            "'\(name)' is already in the queue as torrent \(id)"
        case .newerDatabase(let path, let unknown):
            "the database\(path.map { " \($0)" } ?? "") was written by a newer btq "
                + "(unknown migrations: \(unknown.joined(separator: ", "))); upgrade btq to use it"
        case .unknownMigration(let name, let known):
            "unknown migration '\(name)' (known: \(known.joined(separator: ", ")))"
        case .mismatchedMetadata(let id):
            "the metadata does not belong to torrent \(id): its info-hash differs"
        case .invalidValue(let message):
            message
        case .damaged(let torrentId, let table, let column, let problem):
            "the database is damaged: "
                + (torrentId.map { "torrent \($0): " } ?? "")
                + "column \(column) of table \(table) \(problem)"
        }
    }

    static func notFound(_ reference: String) -> StoreError { StoreError(.notFound(reference: reference)) }
    static func notFound(id: Int64) -> StoreError { StoreError(.notFound(reference: String(id))) }
    static func ambiguous(_ reference: String, matches: [String]) -> StoreError {
        StoreError(.ambiguous(reference: reference, matches: matches))
    }
    static func removed(id: Int64) -> StoreError { StoreError(.removed(id: id)) }
    static func duplicate(id: Int64, name: String) -> StoreError { StoreError(.duplicate(id: id, name: name)) }
    static func newerDatabase(path: String?, unknownMigrations: [String]) -> StoreError {
        StoreError(.newerDatabase(path: path, unknownMigrations: unknownMigrations))
    }
    static func unknownMigration(_ name: String, known: [String]) -> StoreError {
        StoreError(.unknownMigration(name: name, known: known))
    }
    static func mismatchedMetadata(id: Int64) -> StoreError { StoreError(.mismatchedMetadata(id: id)) }
    static func invalidValue(_ message: String) -> StoreError { StoreError(.invalidValue(message)) }
    static func damaged(torrentId: Int64?, table: String, column: String, problem: String) -> StoreError {
        StoreError(.damaged(torrentId: torrentId, table: table, column: column, problem: problem))
    }
}
