import Engine

extension RPCError {
    /// Runs `body`; an error that is not an ``RPCError`` (the store's, the parser's) becomes
    /// ``RPCError/failed(_:)`` with its description, which the answer's `result` carries.
    static func catching<T>(_ body: () throws -> T) throws(RPCError) -> T {
        do {
            return try body()
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError.failed("\(error)")
        }
    }
}
