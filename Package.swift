// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "lsr",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "LDPCodec", targets: ["LDPCodec"]),
        .library(name: "LDPEngine", targets: ["LDPEngine"]),
        .library(name: "MPLSTables", targets: ["MPLSTables"]),
    ],
    targets: [
        // RFC 5036 wire format: value types, encode, decode, framing. No I/O.
        .target(name: "LDPCodec"),
        // The LFIB as the forwarding planes see it: entries and deltas.
        .target(name: "MPLSTables", dependencies: ["LDPCodec"]),
        // Sans-I/O LDP protocol engine: discovery, sessions, label distribution, LIB → LFIB deltas.
        .target(name: "LDPEngine", dependencies: ["LDPCodec", "MPLSTables"]),
        // Throughput and convergence figures (a benchmark, not a test).
        .executableTarget(name: "ldp-bench", dependencies: ["LDPCodec", "LDPEngine"], path: "Sources/LDPBench"),
        .testTarget(name: "LDPCodecTests", dependencies: ["LDPCodec"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LDPEngineTests", dependencies: ["LDPEngine", "LDPCodec", "MPLSTables"]),
    ]
)
