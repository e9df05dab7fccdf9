// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "feedbase",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "feedbase", targets: ["feedbase"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        // Hashes (API keys, migration checksums) and JWT verification: never hand-made.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        // The PostgreSQL engine's driver (its PostgresClient pool and LISTEN): a driver, no ORM.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // The served process's lifecycle: signals, graceful shutdown (postgres-nio uses it too).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // HTTPS without a proxy (`--tls-cert`, `--tls-key`); postgres-nio's TLS is the same package.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        // Settings from the environment and a config file, beside the flags.
        .package(url: "https://github.com/apple/swift-configuration", from: "1.0.0"),
        // /metrics: the swift-metrics API over a Prometheus registry of each app's own.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Already swift-prometheus's: the per-route counters are made once, lock-free (HTTPMetrics).
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
    ],
    targets: [
        // The system SQLite (Debian: libsqlite3-dev). Only FeedbaseSQLite imports it.
        .systemLibrary(
            name: "FeedbaseCSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The engine-neutral layer: the schema model, typed queries, body validation, access
        // scopes, errors, codecs and the ResourceStore contract every engine implements. No SQL,
        // no database: tested without one.
        .target(
            name: "FeedbaseModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // The SQLite engine (the embedded default): executes the model's plans as SQL on the
        // system libsqlite3, and owns its change log.
        .target(
            name: "FeedbaseSQLite",
            dependencies: [
                "FeedbaseModel",
                "FeedbaseCSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                // The API alone: the app hands in the factory (WriterMetrics).
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The PostgreSQL engine: its commit-ordered change log (triggers, commit ticket) and the
        // feed's reader and wake-ups; it executes the model's plans.
        .target(
            name: "FeedbasePostgres",
            dependencies: [
                "FeedbaseModel",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Identities: API keys (hashed, stored by FeedbaseSQLite) and JWTs (jwt-kit), verified and
        // cached. No NIO, no SQL.
        .target(
            name: "FeedbaseAuth",
            dependencies: [
                "FeedbaseModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The change feed's fan-out: plain Swift over the store's change log, no NIO, no SQL.
        .target(
            name: "FeedbaseFeed",
            dependencies: [
                "FeedbaseModel", .product(name: "Logging", package: "swift-log"),
                // The API alone: the app hands in the factory (FeedMetrics).
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The OpenAPI 3.1 and AsyncAPI 3.0 documents, built from the store's schema model as plain
        // values with their own JSON and YAML writers: no NIO, no SQL.
        .target(
            name: "FeedbaseOpenAPI",
            dependencies: ["FeedbaseModel"]
        ),
        // The server's metrics: swift-metrics handles made from a Prometheus registry each app
        // owns (no process-wide bootstrap), and the text the /metrics route serves. No NIO, no SQL.
        .target(
            name: "FeedbaseMetrics",
            dependencies: [
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // HTTP/1.1 on SwiftNIO: the router, the REST resources, problem+json, and the documents
        // FeedbaseOpenAPI builds. Sees no SQL.
        .target(
            name: "FeedbaseHTTP",
            dependencies: [
                "FeedbaseAuth",
                "FeedbaseModel",
                "FeedbaseFeed",
                "FeedbaseOpenAPI",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The browser client, served at /_client/ from the binary's own bytes (ClientFiles.swift).
            // The explorer at /_ui, the same way (ExplorerFiles.swift).
            resources: [
                .embedInCode("Client/feedbase.js"), .embedInCode("Client/feedbase.d.ts"),
                .embedInCode("UI/explorer.html"), .embedInCode("UI/explorer.js"), .embedInCode("UI/schema.js"),
                .embedInCode("UI/editor.js"), .embedInCode("UI/explorer.css"),
            ]
        ),
        // The wiring: store → hub → feed maintenance → API → server, from one configuration.
        // `feedbase serve` and the end-to-end tests both start it.
        .target(
            name: "FeedbaseApp",
            dependencies: [
                "FeedbaseAuth",
                "FeedbaseMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                "FeedbaseModel",
                "FeedbaseSQLite",
                "FeedbasePostgres",
                "FeedbaseFeed",
                "FeedbaseHTTP",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "FeedbaseCLI",
            dependencies: [
                "FeedbaseApp",
                "FeedbaseAuth",
                "FeedbaseModel",
                "FeedbaseSQLite",
                "FeedbasePostgres",
                "FeedbaseFeed",
                "FeedbaseHTTP",
                "FeedbaseOpenAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        .executableTarget(
            name: "feedbase",
            dependencies: ["FeedbaseCLI", .product(name: "Logging", package: "swift-log")]
        ),
        // Test-only helpers shared by the test targets (a child process without Foundation's `Process`).
        .target(name: "FeedbaseTestSpawn", path: "Tests/FeedbaseTestSpawn"),
        .target(
            name: "FeedbaseTestSupport",
            dependencies: ["FeedbaseTestSpawn"],
            path: "Tests/FeedbaseTestSupport"
        ),
        // The plan layer without any database: the fast tier.
        .testTarget(name: "FeedbaseModelTests", dependencies: ["FeedbaseModel"]),
        .testTarget(
            name: "FeedbaseSQLiteTests",
            dependencies: ["FeedbaseModel", "FeedbaseSQLite", "FeedbaseTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        // Against a throwaway PostgreSQL cluster the test process starts (PostgresCluster); skipped,
        // with the reason, on a machine without PostgreSQL's server binaries.
        .testTarget(
            name: "FeedbasePostgresTests",
            dependencies: [
                // FeedbaseSQLite and FeedbaseOpenAPI: the engines are held equal, schema, document
                // and listings, against SQLite on the same data.
                "FeedbasePostgres", "FeedbaseModel", "FeedbaseTestSupport", "FeedbaseSQLite", "FeedbaseOpenAPI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                // TerminationTests runs its pool on event loops of its own.
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FeedbaseOpenAPITests",
            // Logging: the tests open their schema with SQLiteStore, as the server does.
            dependencies: ["FeedbaseOpenAPI", "FeedbaseModel", "FeedbaseSQLite", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "FeedbaseFeedTests",
            dependencies: ["FeedbaseFeed", "FeedbaseModel", "FeedbaseSQLite", "FeedbaseTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "FeedbaseHTTPTests",
            // feedbase: KillTests run the real binary, to kill it with SIGKILL under load.
            // FeedbasePostgres and PostgresNIO: the system tier serves either engine (TestServer).
            dependencies: [
                "FeedbaseApp", "FeedbaseAuth", "FeedbaseHTTP", "FeedbaseFeed", "FeedbaseModel", "FeedbaseSQLite", "FeedbaseTestSupport", "feedbase",
                "FeedbasePostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FeedbaseAuthTests",
            // Crypto and JWTKit: the tests make their own keys and sign their own tokens.
            dependencies: [
                "FeedbaseAuth", "FeedbaseModel", "FeedbaseSQLite",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "FeedbaseCLITests",
            // Store and Auth: the keys tests hold the database open as a server does while the
            // binary revokes a key.
            dependencies: [
                "FeedbaseCLI", "feedbase", "FeedbaseTestSupport", "FeedbaseModel", "FeedbaseSQLite", "FeedbaseAuth",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
