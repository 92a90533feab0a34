// swift-tools-version: 6.1
// Tandem: an active-passive algorithmic trading system. See docs/architecture.md for the module map.
import PackageDescription

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let histogram = Target.Dependency.product(name: "Histogram", package: "hdrhistogram-swift")
let yams = Target.Dependency.product(name: "Yams", package: "Yams")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")

let package = Package(
    name: "Tandem",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tandem", targets: ["TandemCLI"]),
        .library(name: "TandemCore", targets: ["TandemCore"]),
        .library(name: "TandemPostgres", targets: ["TandemPostgres"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/attaswift/BigInt.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
    ],
    targets: [
        // C, behind system-library targets found through pkg-config.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl"])]
        ),

        // The vocabulary: exact money, instruments, orders, positions, journal events. No I/O.
        .target(name: "TandemCore"),

        // A small, safe Swift face on libpq and the embedded local PostgreSQL.
        .target(name: "TandemPostgres", dependencies: ["CLibPQ", logging]),
        .target(name: "TandemPostgresTestKit", dependencies: ["TandemPostgres", logging]),

        // SHA-256 and HMAC-SHA-256 through OpenSSL's libcrypto: the one Swift face on COpenSSL.
        .target(name: "TandemCrypto", dependencies: ["COpenSSL"]),

        // FIX 4.4: codec, typed messages, the sans-I/O session state machine and its store, and the
        // SwiftNIO shell (initiator and acceptor over TCP) that drives it.
        .target(name: "TandemFIX", dependencies: ["TandemCore", nioCore, nioPosix, logging, serviceLifecycle]),

        // FIX test peers shared by the tests, the `tandem fix` peer commands and the FIX benchmark.
        .target(name: "TandemFIXTestKit", dependencies: ["TandemFIX", "TandemCore", nioCore]),

        // Market data: the venue feed's wire format, its publisher and the client feed handler
        // (A/B arbitration, gap recovery), sans-I/O, with their NIO shells.
        .target(name: "TandemMarketData", dependencies: ["TandemCore", nioCore, nioPosix, logging, serviceLifecycle]),

        // The event journal on PostgreSQL: schema, fenced append, group commit, tail, replay, snapshots, audit.
        .target(
            name: "TandemJournal",
            dependencies: ["TandemCore", "TandemPostgres", "TandemCrypto", logging, serviceLifecycle]
        ),

        // The venue simulator: the matching engine (price-time-priority books, sans-I/O, no clock, no
        // randomness) and, in Venue/, the FIX-facing venue core, synthetic market and `tandem venue` service.
        .target(name: "TandemVenue", dependencies: ["TandemCore", "TandemFIX", "TandemMarketData", nioCore, logging, serviceLifecycle]),

        // The lease and node roles: a sans-I/O lease state machine and its PostgreSQL shell.
        .target(name: "TandemCluster", dependencies: ["TandemCore", "TandemJournal", "TandemPostgres", logging, serviceLifecycle]),

        // The strategy API (market data, own orders and fills, timers in; order intents out) and the
        // example strategies. Pure: no FIX, no PostgreSQL, so the backtester runs the same code.
        .target(name: "TandemStrategy", dependencies: ["TandemCore"]),

        // Pre-trade risk checks, position sizing and circuit breakers, sans-I/O (the node's risk hook and
        // the watchdog's rules build on it).
        .target(name: "TandemRisk", dependencies: ["TandemCore"]),

        // The order manager: write-ahead execution over FIX, the journal-backed FIX session store,
        // ClOrdIDs, rate limits, retries, the pre-trade risk hook.
        .target(name: "TandemExecution", dependencies: ["TandemCore", "TandemFIX", "TandemJournal", nioCore, logging]),

        // Operations: the HTTP face every process serves (/metrics as Prometheus text, /healthz, /readyz).
        .target(name: "TandemOps", dependencies: ["TandemCore", prometheus, nioCore, nioPosix, nioHTTP1, logging, serviceLifecycle]),

        // `tandem node`: configuration and the services of one engine node, wired together.
        .target(
            name: "TandemNode",
            dependencies: ["TandemCore", "TandemCluster", "TandemExecution", "TandemStrategy", "TandemRisk", "TandemMarketData", "TandemJournal",
                           "TandemPostgres", "TandemFIX", "TandemCrypto", yams, metrics, logging, serviceLifecycle, nioCore, nioPosix]
        ),

        // `tandem watchdog`: the independent risk process (drop copy, kill switch, HALT, FLATTEN).
        .target(
            name: "TandemWatchdog",
            dependencies: ["TandemCore", "TandemFIX", "TandemJournal", "TandemPostgres", "TandemCrypto", "TandemMarketData", "TandemVenue",
                           "TandemOps", yams, metrics, logging, serviceLifecycle, nioCore, nioPosix]
        ),

        // The one executable: `tandem <subcommand>`.
        .executableTarget(
            name: "TandemCLI",
            dependencies: ["TandemCore", "TandemPostgres", "TandemCrypto", "TandemJournal", "TandemFIX", "TandemFIXTestKit", "TandemMarketData", "TandemVenue", "TandemCluster", "TandemExecution", "TandemStrategy", "TandemNode", "TandemWatchdog", "TandemOps", metrics, prometheus, argumentParser, logging, serviceLifecycle, nioCore, nioPosix, histogram]
        ),

        .testTarget(
            name: "TandemCoreTests",
            dependencies: [
                "TandemCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "BigInt", package: "BigInt"),
            ]
        ),
        .testTarget(name: "TandemCryptoTests", dependencies: ["TandemCrypto"]),
        .testTarget(name: "TandemMarketDataTests", dependencies: ["TandemMarketData", "TandemCore", nioCore, nioPosix, logging]),
        .testTarget(name: "TandemFIXTests", dependencies: ["TandemFIX", "TandemFIXTestKit", "TandemCore", nioCore, nioPosix, logging, serviceLifecycle]),
        .testTarget(
            name: "TandemJournalTests",
            dependencies: ["TandemJournal", "TandemCore", "TandemPostgres", "TandemPostgresTestKit"]
        ),
        .testTarget(
            name: "TandemVenueTests",
            dependencies: ["TandemVenue", "TandemCore", "TandemFIX", "TandemMarketData", logging, .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "TandemClusterTests",
            dependencies: ["TandemCluster", "TandemJournal", "TandemPostgres", "TandemPostgresTestKit", "TandemCore", logging, serviceLifecycle]
        ),
        .testTarget(name: "TandemStrategyTests", dependencies: ["TandemStrategy", "TandemCore"]),
        .testTarget(name: "TandemOpsTests", dependencies: ["TandemOps", logging, prometheus]),
        .testTarget(
            name: "TandemRiskTests",
            dependencies: ["TandemRisk", "TandemCore", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "TandemExecutionTests",
            dependencies: ["TandemExecution", "TandemFIX", "TandemJournal", "TandemPostgres", "TandemPostgresTestKit", "TandemCore", "TandemVenue", nioCore, logging, serviceLifecycle]
        ),
        .testTarget(
            name: "TandemNodeTests",
            dependencies: ["TandemNode", "TandemWatchdog", "TandemCluster", "TandemExecution", "TandemRisk", "TandemStrategy", "TandemVenue", "TandemJournal", "TandemPostgres",
                           "TandemPostgresTestKit", "TandemCore", "TandemFIX", "TandemOps", logging, serviceLifecycle]
        ),
        .testTarget(
            name: "TandemWatchdogTests",
            dependencies: ["TandemWatchdog", "TandemCore", "TandemFIX", "TandemJournal", "TandemPostgres", "TandemPostgresTestKit", "TandemVenue",
                           "TandemCrypto", logging]
        ),
        .testTarget(
            name: "TandemPostgresTests",
            dependencies: ["TandemPostgres", "TandemPostgresTestKit", logging]
        ),
    ],
    swiftLanguageModes: [.v6]
)
