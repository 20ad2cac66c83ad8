// swift-tools-version:6.1
// imapd-maildir: an IMAP4rev2 server (RFC 9051) serving Maildir spools in place.
// Module layout and the direction of dependencies are described in README.md
// ("Code map"): IMAPProtocol and MailMessage and MaildirStore know nothing of each
// other; IMAPServer maps between them; the executable only wires things up.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "imapd-maildir",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "imapd-maildir", targets: ["imapd-maildir"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Pure codec: wire types, incremental command parser, response encoder.
        .target(
            name: "IMAPProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        // RFC 5322 / MIME parsing of one message; produces IMAPProtocol's ENVELOPE and
        // BODYSTRUCTURE value types directly rather than a parallel set of its own.
        .target(name: "MailMessage", dependencies: ["IMAPProtocol"], swiftSettings: strict),
        // setfsuid/setfsgid, capset and prctl, which Glibc's module does not export; no C
        // code of its own, only a module map and a header of static inline wrappers.
        .systemLibrary(name: "CFileCredentials"),
        // The filesystem: Maildir++, file-name flags, dovecot-uidlist, keywords, locks,
        // per-user file-system ids (FileOwner.swift).
        .target(
            name: "MaildirStore",
            dependencies: ["CFileCredentials", "CZlib", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // crypt(3) from libcrypt; no C code, only a module map.
        .systemLibrary(
            name: "CCrypt", pkgConfig: "libcrypt",
            providers: [.apt(["libcrypt-dev"])]),
        // zlib for COMPRESS=DEFLATE (RFC 4978); no C code, a module map and init wrappers.
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        // passwd-file, crypt verification, SASL PLAIN, login throttling.
        .target(
            name: "Auth",
            dependencies: ["CCrypt", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // SwiftNIO server: framing, session state machine, command handlers.
        .target(
            name: "IMAPServer",
            dependencies: [
                "IMAPProtocol", "MailMessage", "MaildirStore", "Auth", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                // The auth_http endpoint for nginx's mail proxy (AuthHTTP/).
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "imapd-maildir",
            dependencies: [
                "IMAPServer", "Auth", "CFileCredentials",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        // Load generator and benchmark scenarios (issue 6; contrib/bench/compare.sh).
        .executableTarget(
            name: "imapd-bench",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        // Test support shared by the test targets: a LogHandler that keeps what is logged.
        .target(
            name: "LogCapture", dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/LogCapture", swiftSettings: strict),
        .testTarget(name: "imapd-benchTests", dependencies: ["imapd-bench"], swiftSettings: strict),
        .testTarget(
            name: "IMAPProtocolTests",
            dependencies: ["IMAPProtocol", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict),
        .testTarget(
            name: "MailMessageTests", dependencies: ["MailMessage"], exclude: ["Fixtures", "FuzzCorpus"],
            swiftSettings: strict),
        .testTarget(
            name: "MaildirStoreTests", dependencies: ["MaildirStore", "LogCapture"], exclude: ["Fixtures"],
            swiftSettings: strict),
        .testTarget(name: "AuthTests", dependencies: ["Auth", "LogCapture"], swiftSettings: strict),
        .testTarget(
            name: "IMAPServerTests",
            dependencies: [
                "IMAPServer", "IMAPProtocol", "MaildirStore", "Auth", "LogCapture", "CZlib",
                // SortThreadBenchGoldenTests writes the benchmark spool with its generator.
                "imapd-bench",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            exclude: ["Golden"], swiftSettings: strict),
    ]
)
