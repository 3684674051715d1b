// swift-tools-version:6.1
import PackageDescription

// Programs that use swift-celery the way another package would: depending on it by path.
// Their own package, so the library's build stays lean; scripts/test builds and runs them.
//
// - HummingbirdDemo: a Hummingbird app publishing Celery tasks from HTTP endpoints (as the
//   FastAPI example does) with a Swift worker for them in the same ServiceGroup.
// - QuickStartWorker, QuickStartClient, my-worker: the README's quick starts (my-worker: a worker
//   executable embedding the CeleryCommand product, its tasks in MyTasks, unit-tested by
//   MyTasksTests with the CeleryTesting product), written here by `scripts/readme_snippets.py`
//   from the README's code blocks (it checks they agree).
let package = Package(
    name: "swift-celery-examples",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-celery", path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "HummingbirdDemo",
            dependencies: [
                .product(name: "Celery", package: "swift-celery"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "QuickStartWorker",
            dependencies: [
                .product(name: "Celery", package: "swift-celery"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "MyTasks", dependencies: [.product(name: "Celery", package: "swift-celery")]),
        .executableTarget(
            name: "my-worker",
            dependencies: [
                "MyTasks",
                .product(name: "CeleryCommand", package: "swift-celery"),
            ],
            path: "Sources/MyWorker"
        ),
        // The tasks of my-worker unit-tested on the in-memory broker (no Redis).
        .testTarget(
            name: "MyTasksTests",
            dependencies: [
                "MyTasks",
                .product(name: "Celery", package: "swift-celery"),
                .product(name: "CeleryTesting", package: "swift-celery"),
            ]
        ),
        .executableTarget(
            name: "QuickStartClient",
            dependencies: [.product(name: "Celery", package: "swift-celery")]
        ),
    ]
)
