// swift-tools-version:6.1
import PackageDescription

/// Settings every Swift target shares: Swift 6 strict concurrency plus the upcoming
/// features the Swift server ecosystem enables, so each file says what it re-exports.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-celery",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Celery", targets: ["Celery"]),
        .library(name: "CeleryCommand", targets: ["CeleryCommand"]),
        .library(name: "CeleryTesting", targets: ["CeleryTesting"]),
        .executable(name: "swift-celery", targets: ["swift-celery"]),
        .executable(name: "interop-worker", targets: ["interop-worker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Already in the graph through swift-service-lifecycle; the event loop's timer heap.
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
    ],
    targets: [
        // C libraries, seen only by the one Swift target that wraps each.
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CJansson", pkgConfig: "jansson", providers: [.apt(["libjansson-dev"])]),
        // zlib, bzip2, xz, zstd and brotli: kombu's message compressions.
        .systemLibrary(
            name: "CCompression", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev", "libbz2-dev", "liblzma-dev", "libzstd-dev", "libbrotli-dev"])]
        ),

        // jansson's parser with its tree in a per-thread arena (one allocation per parse, not one per node).
        .target(name: "CJanssonArena", dependencies: ["CJansson"]),

        // Thin Swift layers over the C libraries.
        .target(name: "CeleryJSON", dependencies: ["CJansson", "CJanssonArena"], swiftSettings: swiftSettings),
        .target(name: "CeleryCompression", dependencies: ["CCompression"], swiftSettings: swiftSettings),
        .target(
            name: "CeleryRedis",
            dependencies: ["CHiredis", .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: swiftSettings
        ),

        // Celery protocol v2 as pure values: envelope, headers, body, result documents. No I/O.
        .target(name: "CeleryProtocol", dependencies: ["CeleryJSON", "CeleryCompression"], swiftSettings: swiftSettings),

        // The public library: client, worker runtime, Redis broker and result backend.
        .target(
            name: "Celery",
            dependencies: [
                "CeleryProtocol", "CeleryJSON", "CeleryRedis",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // An in-memory broker and result store for users' unit tests of tasks and workers.
        .target(
            name: "CeleryTesting",
            dependencies: [
                "Celery", "CeleryRedis",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // `celery worker`'s command line for a user's own worker executable (and Prometheus metrics).
        .target(
            name: "CeleryCommand",
            dependencies: [
                "Celery",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),

        // Executables: the operator CLI and the worker hosting the interop/bench tasks.
        .executableTarget(
            name: "swift-celery",
            dependencies: [
                "Celery",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "interop-worker",
            dependencies: [
                "Celery", "CeleryCommand", "CeleryRedis",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Micro-benchmarks of the protocol layer and the client: `swift run -c release celery-benchmarks`.
        // CMallocCounter counts the process's heap allocations (allocations per message).
        .target(name: "CMallocCounter", path: "Benchmarks/CMallocCounter"),
        .executableTarget(
            name: "celery-benchmarks", dependencies: ["Celery", "CeleryRedis", "CMallocCounter"], path: "Benchmarks/celery-benchmarks",
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "CeleryJSONTests", dependencies: ["CeleryJSON"], swiftSettings: swiftSettings),
        .testTarget(name: "CeleryCompressionTests", dependencies: ["CeleryCompression"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CeleryProtocolTests",
            dependencies: ["CeleryProtocol", "CeleryJSON"],
            swiftSettings: swiftSettings
        ),
        // Unit tests of the Celery target that need no Redis (settings, messages, batching, signals).
        .testTarget(
            name: "CeleryTests",
            dependencies: ["Celery", "CeleryTesting", "CeleryRedis", "CeleryProtocol", "CeleryJSON"],
            swiftSettings: swiftSettings
        ),
        // The worker, client and event loop against a real Redis (REDIS_URL).
        .testTarget(
            name: "CeleryIntegrationTests",
            dependencies: ["Celery", "CeleryRedis", "CeleryProtocol", "CeleryJSON"],
            swiftSettings: swiftSettings
        ),
    ]
)
