/// The oracle of the fuzz targets: a broken invariant stops the process, which libFuzzer reports as a
/// crash and saves the input for.
public enum FuzzCheck {
    /// Stops the process with `message` when `condition` is false.
    ///
    /// A `precondition` would be compiled out in `-Ounchecked` builds; this never is.
    public static func require(
        _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
        file: StaticString = #fileID, line: UInt = #line
    ) {
        if !condition() {
            fatalError("fuzz invariant broken: \(message())", file: file, line: line)
        }
    }
}
