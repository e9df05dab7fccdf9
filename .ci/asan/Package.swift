// swift-tools-version:6.0
// The store and its tests alone, for the AddressSanitizer run of `.ci/run`: the same sources (the
// folders here are links to the package's), without NIO, the HTTP server and JWT verification,
// whose instrumented build would take CI most of its time and are not what ASan is here for
// (the C interop of FeedbaseStore).
import PackageDescription

let package = Package(
    name: "feedbase-store-asan",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
    ],
    targets: [
        .systemLibrary(name: "FeedbaseCSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "FeedbaseStore",
            dependencies: ["FeedbaseCSQLite", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "FeedbaseTestSpawn", path: "Tests/FeedbaseTestSpawn"),
        .target(name: "FeedbaseTestSupport", dependencies: ["FeedbaseTestSpawn"], path: "Tests/FeedbaseTestSupport"),
        .testTarget(
            name: "FeedbaseStoreTests",
            dependencies: ["FeedbaseStore", "FeedbaseTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
