// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "lsr",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "LDPCodec", targets: ["LDPCodec"]),
        .library(name: "LDPEngine", targets: ["LDPEngine"]),
        .library(name: "MPLSTables", targets: ["MPLSTables"]),
        .library(name: "MPLSForwarding", targets: ["MPLSForwarding"]),
        .executable(name: "lsrd", targets: ["lsrd"]),
        .executable(name: "lsrctl", targets: ["lsrctl"]),
        .executable(name: "lsrlab", targets: ["lsrlab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.0"),
    ],
    targets: [
        // RFC 5036 wire format: value types, encode, decode, framing. No I/O.
        .target(name: "LDPCodec"),
        // The LFIB as the forwarding planes see it: entries and deltas.
        .target(name: "MPLSTables", dependencies: ["LDPCodec"]),
        // The userspace forwarding decision: a pure function over an immutable snapshot. No I/O.
        .target(name: "MPLSForwarding", dependencies: ["LDPCodec", "MPLSTables"]),
        // Sans-I/O LDP protocol engine: discovery, sessions, label distribution, LIB → LFIB deltas.
        .target(name: "LDPEngine", dependencies: ["LDPCodec", "MPLSTables"]),
        // Throughput and convergence figures (a benchmark, not a test).
        .executableTarget(name: "ldp-bench", dependencies: ["LDPCodec", "LDPEngine", "MPLSTables", "MPLSForwarding", "CLinuxShims"], path: "Sources/LDPBench"),
        // Kernel route install rate against `ip -batch` (run inside a namespace or the test VM).
        .executableTarget(name: "lsr-kernel-bench", dependencies: ["LSRDaemon", "LDPCodec", "MPLSTables",
                                                                  .product(name: "Logging", package: "swift-log")],
                          path: "Sources/KernelBench"),
        // The forwarding benchmark's generator (scripts/bench-forwarding).
        .executableTarget(name: "lsr-traffic", dependencies: ["CLinuxShims"], path: "Sources/TrafficGenerator"),
        // libnl-3 / libnl-route-3: the one place that talks netlink.
        .systemLibrary(name: "CNetlink", pkgConfig: "libnl-route-3.0",
                       providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),
        // What Glibc does not import: setns, cmsg, TCP MD5, GTSM.
        .target(name: "CLinuxShims"),
        // The control protocol between lsrd and lsrctl, and the text tables lsrctl prints.
        .target(name: "LSRControl", dependencies: ["LDPCodec", "MPLSTables"]),
        // lsrd's parts: configuration, sockets around the engine, kernel routes, control server.
        .target(name: "LSRDaemon", dependencies: [
            "LDPCodec", "LDPEngine", "MPLSTables", "MPLSForwarding", "LSRControl", "CNetlink", "CLinuxShims",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "lsrd", dependencies: [
            "LSRDaemon", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "lsrctl", dependencies: [
            "LSRControl", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Lab topologies: YAML files, checks, static routes, namespaces and processes, and what
        // a running lab should hold (its routers read through LSRControl and vtysh).
        .target(name: "LabKit", dependencies: ["LDPCodec", "LSRControl", .product(name: "Yams", package: "Yams")]),
        .executableTarget(name: "lsrlab", dependencies: [
            "LabKit", "LSRControl", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "LabKitTests", dependencies: ["LabKit", "LDPCodec", "LSRControl"]),
        .testTarget(name: "LSRDaemonTests", dependencies: ["LSRDaemon", "LSRControl", "LabKit", "CLinuxShims"]),
        // Real lsrd processes in network namespaces (root only; skipped visibly otherwise).
        .testTarget(name: "LSRNamespaceTests", dependencies: ["LSRControl", "LDPCodec", "LabKit"]),
        // Seeded generators and random LDP messages for the test targets below.
        .target(name: "LDPTestSupport", dependencies: ["LDPCodec"], path: "Tests/LDPTestSupport"),
        .testTarget(name: "LDPCodecTests", dependencies: ["LDPCodec", "LDPTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MPLSForwardingTests", dependencies: ["MPLSForwarding", "MPLSTables", "LDPCodec", "LDPTestSupport"]),
        .testTarget(name: "LDPEngineTests", dependencies: ["LDPEngine", "LDPCodec", "MPLSTables", "LDPTestSupport"]),
    ]
)
