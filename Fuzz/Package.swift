// swift-tools-version:6.1
import PackageDescription

// A libFuzzer target for the message decoder, in its own package (built only by scripts/fuzz,
// with --sanitize=fuzzer and address or undefined), depending on swift-celery by path.
let package = Package(
    name: "swift-celery-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "swift-celery", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzMessageDecoder",
            dependencies: [.product(name: "Celery", package: "swift-celery")],
            // libFuzzer brings main(); the entry point below is LLVMFuzzerTestOneInput.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ]
)
