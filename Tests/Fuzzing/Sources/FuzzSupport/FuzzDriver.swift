import CFuzzerDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts libFuzzer from a target's `main`.
///
/// Each target has its own `@main` that calls ``run(_:)`` rather than leaving `main` to libFuzzer, so
/// the targets link the same way in every build configuration (SwiftPM renames the `main` of debug
/// executables, which libFuzzer's own `main` would not match).
public enum FuzzDriver {
    /// The signature of `LLVMFuzzerTestOneInput`: one input, 0 to go on.
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs libFuzzer with the process's arguments on `testOneInput` and exits with its status.
    public static func run(_ testOneInput: TestOneInput) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv, testOneInput)
        exit(status)
    }
}
