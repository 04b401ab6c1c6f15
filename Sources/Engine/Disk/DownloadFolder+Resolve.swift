import Glibc

/// Path resolution beneath a folder descriptor: `openat2(RESOLVE_BENEATH)`, or a component-by-component
/// walk where the kernel lacks it.
extension DownloadFolder {
    /// `struct open_how` of `openat2(2)`.
    private struct OpenHow {
        var flags: UInt64
        var mode: UInt64
        var resolve: UInt64
    }

    /// `RESOLVE_NO_MAGICLINKS`, `RESOLVE_NO_SYMLINKS` and `RESOLVE_BENEATH` (linux/openat2.h).
    private static let resolveNoMagicLinks: UInt64 = 0x02
    private static let resolveNoSymlinks: UInt64 = 0x04
    private static let resolveBeneath: UInt64 = 0x08
    /// `SYS_openat2`: the same number on every architecture.
    private static let openat2Number = 437

    /// glibc's `syscall(2)`. Swift does not import C variadic functions, so it is looked up and called
    /// with a fixed prototype; on the Linux ABIs (x86-64, AArch64) integer and pointer arguments of a
    /// variadic call travel in the same registers, and `syscall` only moves them into place.
    private typealias SyscallFunction =
        @convention(c) (Int, Int32, UnsafePointer<CChar>, UnsafeMutableRawPointer, Int) -> Int

    private static let syscallFunction: SyscallFunction? = {
        guard let symbol = dlsym(nil, "syscall") else { return nil }
        return unsafeBitCast(symbol, to: SyscallFunction.self)
    }()

    /// Whether `openat2` works here (a sandbox may answer `ENOSYS` or `EPERM` for a call it does not know).
    static let hasOpenat2: Bool = {
        let result = openat2(AT_FDCWD, "/", flags: Self.openPath | O_CLOEXEC, mode: 0, resolve: 0)
        if result >= 0 {
            Glibc.close(result)
            return true
        }
        return false
    }()

    /// `openat2(2)`: the descriptor, or `-errno`.
    private static func openat2(
        _ directory: Int32, _ path: String, flags: Int32, mode: mode_t, resolve: UInt64
    )
        -> Int32
    {
        guard let call = syscallFunction else { return -ENOSYS }
        var how = OpenHow(flags: UInt64(UInt32(bitPattern: flags)), mode: UInt64(mode), resolve: resolve)
        while true {
            let result = path.withCString { name in
                withUnsafeMutableBytes(of: &how) { call(openat2Number, directory, name, $0.baseAddress!, $0.count) }
            }
            if result >= 0 { return Int32(result) }
            let code = errno
            // EAGAIN: a rename or mount raced the resolution; it is safe to try again.
            if code == EINTR || code == EAGAIN { continue }
            return -code
        }
    }

    /// Opens `components` relative to `root` with `flags` (`O_CLOEXEC` and, for the last component,
    /// `O_NOFOLLOW` are the caller's): beneath `root`, following symlinks only while they stay inside (none
    /// at all when `noSymlinks`). An empty path opens `root` itself. Returns the descriptor or `-errno`;
    /// `-EXDEV` when the path would lead outside.
    static func resolve(root: Int32, _ components: [String], flags: Int32, mode: mode_t, noSymlinks: Bool) -> Int32 {
        let relative = components.isEmpty ? "." : components.joined(separator: "/")
        if hasOpenat2 {
            var resolve = resolveBeneath | resolveNoMagicLinks
            if noSymlinks { resolve |= resolveNoSymlinks }
            let creating = flags & O_CREAT != 0
            let result = openat2(root, relative, flags: flags, mode: creating ? mode : 0, resolve: resolve)
            if result != -ENOSYS {
                return noSymlinks && result == -ELOOP ? -EXDEV : result
            }
        }
        return walk(root: root, components, flags: flags, mode: mode)
    }

    /// The walk without `openat2`: each folder is opened with `O_NOFOLLOW | O_DIRECTORY` in the one
    /// before, so any symlink on the way (inside or not) is refused with `EXDEV`; the last component gets
    /// `O_NOFOLLOW`.
    static func walk(root: Int32, _ components: [String], flags: Int32, mode: mode_t) -> Int32 {
        var current = dup(root)
        guard current >= 0 else { return -errno }
        for component in components.dropLast() {
            let next = openat(current, component, Self.openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            if next < 0 {
                var info = stat()
                let isLink =
                    fstatat(current, component, &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFLNK
                Glibc.close(current)
                return isLink ? -EXDEV : -code
            }
            Glibc.close(current)
            current = next
        }
        defer { Glibc.close(current) }
        guard let last = components.last else {
            let result = openat(current, ".", flags, mode)
            return result >= 0 ? result : -errno
        }
        while true {
            let result = openat(current, last, flags | O_NOFOLLOW, mode)
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            var info = stat()
            if code == ENOTDIR, fstatat(current, last, &info, AT_SYMLINK_NOFOLLOW) == 0,
                info.st_mode & S_IFMT == S_IFLNK
            {
                return -EXDEV
            }
            return -code
        }
    }
}
