// swift-tools-version:6.0
// libFuzzer targets for what a client's bytes reach first: the listing query string, the JSON
// request body, the HTTP request head, and the WebSocket band messages (README.md here). The
// modules are the package's own (the folders under Sources/ and Tests/ are links to them);
// only they are instrumented for coverage and AddressSanitizer. NIO, swift-crypto and jwt-kit
// are built plain: they are not what this looks for bugs in, and their instrumented build would
// cost CI minutes for nothing.
import PackageDescription

/// Our modules: coverage for libFuzzer, ASan checks, and `@testable import` for the internal
/// entry points (the parsers are not public API).
let instrumented: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address", "-enable-testing"])]
/// The fuzz executables: no Swift `main` (each defines the entry point SwiftPM links as `main`
/// and runs libFuzzer's driver from it: FuzzDriver.c), and libFuzzer's runtime.
let fuzzerMain: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address", "-parse-as-library"])]
let fuzzerLink: [LinkerSetting] = [.unsafeFlags(["-sanitize=fuzzer,address"])]
/// The store's own tests under AddressSanitizer (`.ci/run`), linked here so that CI builds the
/// dependencies once for both runs. ASan's runtime defines the coverage hooks the instrumented
/// modules call, as no-ops; libFuzzer (and its `main`) stays out of the test binary.
let addressSanitized: [SwiftSetting] = [.unsafeFlags(["-sanitize=address"])]
let addressSanitizedLink: [LinkerSetting] = [.unsafeFlags(["-sanitize=address"])]

let package = Package(
    name: "feedbase-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
    ],
    targets: [
        .systemLibrary(name: "FeedbaseCSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "FeedbaseModel", dependencies: [.product(name: "Crypto", package: "swift-crypto")], swiftSettings: instrumented),
        .target(
            name: "FeedbaseSQLite",
            dependencies: [
                "FeedbaseModel", "FeedbaseCSQLite", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: instrumented
        ),
        .target(
            name: "FeedbaseAuth",
            dependencies: [
                "FeedbaseModel", .product(name: "Crypto", package: "swift-crypto"), .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: instrumented
        ),
        .target(
            name: "FeedbaseFeed",
            dependencies: ["FeedbaseModel", .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics")],
            swiftSettings: instrumented
        ),
        .target(name: "FeedbaseOpenAPI", dependencies: ["FeedbaseModel"], swiftSettings: instrumented),
        .target(
            name: "FeedbaseHTTP",
            dependencies: [
                "FeedbaseAuth", "FeedbaseModel", "FeedbaseFeed", "FeedbaseOpenAPI",
                .product(name: "Atomics", package: "swift-atomics"), .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOWebSocket", package: "swift-nio"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The browser client the server serves, as in the main package.
            resources: [
                .embedInCode("Client/feedbase.js"), .embedInCode("Client/feedbase.d.ts"),
                .embedInCode("UI/explorer.html"), .embedInCode("UI/explorer.js"), .embedInCode("UI/schema.js"),
                .embedInCode("UI/editor.js"), .embedInCode("UI/explorer.css"),
            ],
            swiftSettings: instrumented
        ),
        .target(name: "FuzzDriver"),
        .target(
            name: "FuzzSupport",
            dependencies: ["FeedbaseModel", "FeedbaseSQLite", "FuzzDriver", .product(name: "Logging", package: "swift-log")],
            swiftSettings: instrumented
        ),
        .executableTarget(
            name: "FuzzQuery",
            dependencies: ["FeedbaseHTTP", "FeedbaseModel", "FeedbaseSQLite", "FuzzSupport", .product(name: "NIOHTTP1", package: "swift-nio")],
            swiftSettings: fuzzerMain, linkerSettings: fuzzerLink
        ),
        .executableTarget(
            name: "FuzzBody",
            dependencies: ["FeedbaseModel", "FeedbaseSQLite", "FuzzSupport"],
            swiftSettings: fuzzerMain, linkerSettings: fuzzerLink
        ),
        .executableTarget(
            name: "FuzzRequestHead",
            dependencies: [
                "FeedbaseHTTP", "FeedbaseFeed", "FeedbaseModel", "FeedbaseSQLite", "FuzzSupport",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fuzzerMain, linkerSettings: fuzzerLink
        ),
        .executableTarget(
            name: "FuzzBandMessage",
            dependencies: ["FeedbaseHTTP", "FeedbaseAuth", "FeedbaseModel", "FeedbaseSQLite", "FuzzSupport"],
            swiftSettings: fuzzerMain, linkerSettings: fuzzerLink
        ),
        .target(name: "FeedbaseTestSpawn", path: "Tests/FeedbaseTestSpawn"),
        .target(name: "FeedbaseTestSupport", dependencies: ["FeedbaseTestSpawn"], path: "Tests/FeedbaseTestSupport", swiftSettings: addressSanitized),
        .testTarget(
            name: "FeedbaseSQLiteTests",
            dependencies: ["FeedbaseModel", "FeedbaseSQLite", "FeedbaseTestSupport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: addressSanitized, linkerSettings: addressSanitizedLink
        ),
    ],
    swiftLanguageModes: [.v6]
)
