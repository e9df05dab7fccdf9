// swift-tools-version:6.0
// The ceiling for bench/run.sh: the least an HTTP/1.1 server on SwiftNIO can do per request.
import PackageDescription

let package = Package(
    name: "ceiling",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "https://github.com/apple/swift-nio", from: "2.80.0")],
    targets: [
        .executableTarget(
            name: "Ceiling",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
