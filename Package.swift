// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "parley",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "parley", targets: ["Server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C system libraries. Only Sys/, Loop/, TLS/, Compression/ and SQLite/ import them.
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .systemLibrary(
            name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        .target(
            name: "Transport",
            dependencies: [
                "CLinux", "COpenSSL", "CZlib",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "Crypto",
            dependencies: ["COpenSSL"],
            swiftSettings: swiftSettings),
        .target(
            name: "Model",
            swiftSettings: swiftSettings),
        .target(
            name: "Storage",
            dependencies: ["CSQLite", "Model"],
            swiftSettings: swiftSettings),
        .target(
            name: "API",
            dependencies: [
                "Transport", "Storage", "Model", "Crypto",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "Server",
            dependencies: [
                "API", "Transport", "Storage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),

        .target(
            name: "TestSupport",
            dependencies: [
                "Transport", "API", "Storage", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ModelTests",
            dependencies: ["Model"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "Model", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "TransportTests",
            dependencies: ["Transport", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "APITests",
            dependencies: ["API", "Transport", "Storage", "Model", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["API", "Transport", "Storage", "TestSupport"],
            swiftSettings: swiftSettings),
    ]
)
