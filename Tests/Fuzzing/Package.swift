// swift-tools-version:6.1
// libFuzzer targets for btq's parsers of untrusted input, built against the real Engine sources of the
// package two folders up. Not part of the root package: they link only with `-sanitize=fuzzer`, which
// `scripts/fuzz` passes when it builds and runs them; see README.md here.
import PackageDescription

let fuzzTargets = [
    "FuzzBencode",
    "FuzzMetainfo",
    "FuzzMagnet",
    "FuzzPeerWire",
    "FuzzPeerStateMachine",
    "FuzzExtensions",
    "FuzzHTTPTracker",
    "FuzzUDPTracker",
    "FuzzKRPC",
    "FuzzDHTNode",
    "FuzzWebSeed",
    "FuzzHashMessages",
    "FuzzMSEHandshake",
    "FuzzRPC",
    "FuzzUTP",
]

let package = Package(
    name: "BtqFuzz",
    platforms: [.macOS(.v14)],
    products: fuzzTargets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(name: "btq", path: "../..", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "CFuzzerDriver"),
        .target(
            name: "FuzzSupport",
            dependencies: [
                "CFuzzerDriver",
                .product(name: "Engine", package: "btq"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
        + fuzzTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: [
                    "FuzzSupport",
                    .product(name: "Engine", package: "btq"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "NIOEmbedded", package: "swift-nio"),
                ]
            )
        },
    swiftLanguageModes: [.v6]
)
