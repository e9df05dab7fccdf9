// swift-tools-version:6.0
// bench/fanout: many WebSocket subscribers on /_feed (Fanout) or on bands (Bands) and a paced
// writer, in one process.
import PackageDescription

let package = Package(
    name: "fanout",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "https://github.com/apple/swift-nio", from: "2.80.0")],
    targets: [
        .target(name: "BenchSupport", dependencies: [.product(name: "NIOPosix", package: "swift-nio")]),
        .executableTarget(
            name: "Fanout",
            dependencies: [
                "BenchSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "Bands",
            dependencies: [
                "BenchSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
