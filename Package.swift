// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

#if os(Linux)
import Glibc
#endif

/// Release builds of the `btq` executable on Linux: the Swift runtime and Foundation linked in (a lone
/// binary that needs no Swift toolchain where it runs and resolves no symbols across a dozen shared
/// libraries at start), by lld (in the toolchain since Swift 6.0), exporting no symbols, with the relative
/// relocations packed (`DT_RELR`) where glibc reads them (2.36 on), and with the functions a download runs
/// placed together (`Sources/btq/link-order.txt`, written by `Benchmarks/code_pages.sh --order-file`), so
/// that the kernel's fault-around maps little code that does not run. btq's own modules are compiled with
/// a section per function (`functionSections`), so that lld moves each of their functions rather than a
/// whole object. What each saves is in the README (Benchmarks: memory of one download).
let releaseOnLinux: BuildSettingCondition = .when(platforms: [.linux], configuration: .release)
let staticStdlib: SwiftSetting = .unsafeFlags(["-static-stdlib"], releaseOnLinux)
let functionSections: SwiftSetting = .unsafeFlags(["-Xfrontend", "-function-sections"], releaseOnLinux)
let releaseLink: LinkerSetting = .unsafeFlags(
    [
        "-static-stdlib", "-use-ld=lld", "-Xlinker", "--no-export-dynamic",
        "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/btq/link-order.txt",
        "-Xlinker", "--no-warn-symbol-ordering",
    ] + (glibcReadsPackedRelocations ? ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"] : []),
    releaseOnLinux
)

/// Whether the C library here loads binaries with packed relative relocations (glibc 2.36 and later).
var glibcReadsPackedRelocations: Bool {
    #if os(Linux)
    var text = [CChar](repeating: 0, count: 64)  // "glibc 2.36"
    guard confstr(Int32(_CS_GNU_LIBC_VERSION), &text, text.count) > 0 else { return false }
    let name = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let version = name.split(separator: " ").last?.split(separator: ".").compactMap { Int($0) }
    guard let version, version.count >= 2 else { return false }
    return (version[0], version[1]) >= (2, 36)
    #else
    return false
    #endif
}

let package = Package(
    name: "btq",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "btq", targets: ["btq"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Store", targets: ["Store"]),
    ],
    traits: [
        // TLS for https:// trackers and web seeds (swift-nio-ssl, BoringSSL). On by default; only the
        // fuzz targets (Tests/Fuzzing) build without it, which spares their sanitized build BoringSSL.
        .trait(name: "TLS", description: "https:// trackers and web seeds over swift-nio-ssl"),
        .default(enabledTraits: ["TLS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .target(
            name: "Engine",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["TLS"])),
                .product(name: "NIOTLS", package: "swift-nio", condition: .when(traits: ["TLS"])),
            ],
            swiftSettings: strict + [functionSections]
        ),
        .target(
            name: "Store",
            dependencies: [
                "Engine",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict + [functionSections],
            plugins: ["EmbedMigrations"]
        ),
        .executableTarget(
            name: "btq",
            dependencies: [
                "Engine",
                "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["link-order.txt"],
            // The release link is `releaseLink`; the module is compiled with `-static-stdlib` too, so that
            // it names the static libraries Foundation needs.
            swiftSettings: strict + [staticStdlib, functionSections],
            linkerSettings: [releaseLink]
        ),
        .executableTarget(
            name: "MigrationEmbedder",
            swiftSettings: strict
        ),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["MigrationEmbedder"]
        ),
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: [
                "Engine",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "StoreTests",
            dependencies: ["Store", "Engine", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "BtqTests",
            dependencies: ["btq", "Store", "Engine", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["btq", "Engine", "Store", "TestSupport"],
            exclude: [
                "Support/lt_seed.py", "Support/lt_dht.py", "Support/corrupt_peer.py", "Support/hostile_peer.py",
                "Support/swarm_tracker.py", "Support/hostile_dht.py", "Support/tls_front.py",
                "Support/web_seed_server.py", "Support/mse_hostile_peer.py", "Support/rpc_client.py",
                "Support/web_add_magnet.py", "Support/udp_relay.py", "Support/utp_flood.py",
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
