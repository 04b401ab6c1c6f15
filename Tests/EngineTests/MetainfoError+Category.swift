@testable import Engine

extension MetainfoError {
    /// The category of the error `body` throws, or `nil` when it throws none (or another error).
    static func category(thrownBy body: () throws -> Void) -> Category? {
        do {
            try body()
            return nil
        } catch {
            return (error as? MetainfoError)?.category
        }
    }
}
