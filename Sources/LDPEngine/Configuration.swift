// What the operator configures. Codable so the daemon reads it from a file and a recorded run
// carries it; every field has the RFC default so a minimal file names only the LSR ID.

import LDPCodec

/// An interface that runs Basic Discovery (RFC 5036 §2.4.1).
public struct InterfaceConfiguration: Hashable, Sendable, Codable {
    public var name: String
    /// Seconds between Link Hellos (RFC 5036 §2.5.5 suggests a third of the hold time).
    public var helloInterval: UInt16
    /// The Hello hold time we propose (§3.5.2; 15 s by default for Link Hellos).
    public var holdTime: UInt16

    public init(name: String, helloInterval: UInt16 = 5, holdTime: UInt16 = 15) {
        self.name = name
        self.helloInterval = helloInterval
        self.holdTime = holdTime
    }
}

/// A neighbor reached by Extended Discovery (RFC 5036 §2.4.2).
public struct TargetedNeighborConfiguration: Hashable, Sendable, Codable {
    public var address: IPv4Address
    public var helloInterval: UInt16
    /// 45 s by default for Targeted Hellos (§3.5.2).
    public var holdTime: UInt16
    /// TCP MD5 signature password (RFC 5036 §2.9) for the session with this neighbor.
    public var md5Password: String?

    public init(address: IPv4Address, helloInterval: UInt16 = 15, holdTime: UInt16 = 45, md5Password: String? = nil) {
        self.address = address
        self.helloInterval = helloInterval
        self.holdTime = holdTime
        self.md5Password = md5Password
    }
}

/// Which Targeted Hellos from unconfigured sources we answer (RFC 5036 §2.4.2: "an LSR can be
/// configured to accept or to ignore Targeted Hellos").
public enum TargetedHelloPolicy: Hashable, Sendable, Codable {
    /// Only from configured targeted neighbors.
    case configuredNeighborsOnly
    /// From any source.
    case any
    /// From configured neighbors and sources inside these prefixes.
    case from([IPPrefix])
}

/// The §2.5.3 schedule after a refused session set-up: the first delay, doubling up to the
/// maximum. The RFC asks for at least 15 s and at least 2 minutes.
public struct SessionBackoffConfiguration: Hashable, Sendable, Codable {
    public static let leastInitial: UInt16 = 15
    public static let leastMaximum: UInt16 = 120

    public var initial: UInt16
    public var maximum: UInt16

    public init(initial: UInt16 = SessionBackoffConfiguration.leastInitial,
                maximum: UInt16 = SessionBackoffConfiguration.leastMaximum) {
        self.initial = initial
        self.maximum = maximum
    }
}

/// Everything the engine needs to run.
public struct EngineConfiguration: Hashable, Sendable, Codable {
    public var lsrID: IPv4Address
    /// The address sessions use (§2.5.2); by default the LSR ID.
    public var transportAddress: IPv4Address
    public var interfaces: [InterfaceConfiguration]
    public var targetedNeighbors: [TargetedNeighborConfiguration]
    public var targetedHelloPolicy: TargetedHelloPolicy
    /// The KeepAlive Time we propose in Initialization (§3.5.3); the session uses the smaller
    /// of both proposals and we send a KeepAlive every third of it.
    public var keepAliveTime: UInt16
    /// RFC 6720: set the G bit in Link Hellos and use TTL 255 on single-hop sessions.
    public var gtsm: Bool
    /// TCP MD5 passwords by peer LSR ID (RFC 5036 §2.9); targeted neighbors may name their own.
    public var md5Passwords: [IPv4Address: String]
    /// The Max PDU Length we propose (§3.5.3); 255 or less means 4096.
    public var maximumPDULength: UInt16
    /// How long a session may stay between connection and OPERATIONAL.
    public var initializationTimeout: UInt16
    public var sessionBackoff: SessionBackoffConfiguration
    public var labelDistribution: LabelDistributionConfiguration

    public init(lsrID: IPv4Address, transportAddress: IPv4Address? = nil,
                interfaces: [InterfaceConfiguration] = [], targetedNeighbors: [TargetedNeighborConfiguration] = [],
                targetedHelloPolicy: TargetedHelloPolicy = .configuredNeighborsOnly,
                keepAliveTime: UInt16 = 180, gtsm: Bool = true, md5Passwords: [IPv4Address: String] = [:],
                maximumPDULength: UInt16 = UInt16(PDU.defaultMaximumLength), initializationTimeout: UInt16 = 15,
                sessionBackoff: SessionBackoffConfiguration = SessionBackoffConfiguration(),
                labelDistribution: LabelDistributionConfiguration? = nil) {
        self.lsrID = lsrID
        self.transportAddress = transportAddress ?? lsrID
        self.interfaces = interfaces
        self.targetedNeighbors = targetedNeighbors
        self.targetedHelloPolicy = targetedHelloPolicy
        self.keepAliveTime = keepAliveTime
        self.gtsm = gtsm
        self.md5Passwords = md5Passwords
        self.maximumPDULength = maximumPDULength
        self.initializationTimeout = initializationTimeout
        self.sessionBackoff = sessionBackoff
        self.labelDistribution = labelDistribution ?? LabelDistributionConfiguration(localLSRID: lsrID)
    }

    enum CodingKeys: String, CodingKey {
        case lsrID, transportAddress, interfaces, targetedNeighbors, targetedHelloPolicy, keepAliveTime,
             gtsm, md5Passwords, maximumPDULength, initializationTimeout, sessionBackoff, labelDistribution
    }

    /// Missing keys take their defaults, so a configuration file names only what differs.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let lsrID = try container.decode(IPv4Address.self, forKey: .lsrID)
        let defaults = EngineConfiguration(lsrID: lsrID)
        self.lsrID = lsrID
        transportAddress = try container.decodeIfPresent(IPv4Address.self, forKey: .transportAddress) ?? lsrID
        interfaces = try container.decodeIfPresent([InterfaceConfiguration].self, forKey: .interfaces) ?? []
        targetedNeighbors = try container.decodeIfPresent([TargetedNeighborConfiguration].self, forKey: .targetedNeighbors) ?? []
        targetedHelloPolicy = try container.decodeIfPresent(TargetedHelloPolicy.self, forKey: .targetedHelloPolicy) ?? defaults.targetedHelloPolicy
        keepAliveTime = try container.decodeIfPresent(UInt16.self, forKey: .keepAliveTime) ?? defaults.keepAliveTime
        gtsm = try container.decodeIfPresent(Bool.self, forKey: .gtsm) ?? defaults.gtsm
        // Written as {"10.0.0.2": "secret"}: a JSON object keyed by LSR ID.
        var passwords: [IPv4Address: String] = [:]
        for (key, password) in try container.decodeIfPresent([String: String].self, forKey: .md5Passwords) ?? [:] {
            guard let address = IPv4Address(key) else {
                throw DecodingError.dataCorruptedError(forKey: .md5Passwords, in: container,
                                                       debugDescription: "not an LSR ID: \(key)")
            }
            passwords[address] = password
        }
        md5Passwords = passwords
        maximumPDULength = try container.decodeIfPresent(UInt16.self, forKey: .maximumPDULength) ?? defaults.maximumPDULength
        initializationTimeout = try container.decodeIfPresent(UInt16.self, forKey: .initializationTimeout) ?? defaults.initializationTimeout
        sessionBackoff = try container.decodeIfPresent(SessionBackoffConfiguration.self, forKey: .sessionBackoff)
            ?? defaults.sessionBackoff
        labelDistribution = try container.decodeIfPresent(LabelDistributionConfiguration.self, forKey: .labelDistribution)
            ?? defaults.labelDistribution
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lsrID, forKey: .lsrID)
        try container.encode(transportAddress, forKey: .transportAddress)
        try container.encode(interfaces, forKey: .interfaces)
        try container.encode(targetedNeighbors, forKey: .targetedNeighbors)
        try container.encode(targetedHelloPolicy, forKey: .targetedHelloPolicy)
        try container.encode(keepAliveTime, forKey: .keepAliveTime)
        try container.encode(gtsm, forKey: .gtsm)
        try container.encode(Dictionary(uniqueKeysWithValues: md5Passwords.map { ($0.key.description, $0.value) }),
                             forKey: .md5Passwords)
        try container.encode(maximumPDULength, forKey: .maximumPDULength)
        try container.encode(initializationTimeout, forKey: .initializationTimeout)
        try container.encode(sessionBackoff, forKey: .sessionBackoff)
        try container.encode(labelDistribution, forKey: .labelDistribution)
    }

    /// Our LDP identifier: the LSR ID with the platform-wide label space (§2.2.2).
    public var ldpIdentifier: LDPIdentifier { LDPIdentifier(lsrID: lsrID, labelSpace: 0) }

    public func interface(named name: String) -> InterfaceConfiguration? {
        interfaces.first { $0.name == name }
    }

    public func targetedNeighbor(_ address: IPv4Address) -> TargetedNeighborConfiguration? {
        targetedNeighbors.first { $0.address == address }
    }

    /// The MD5 password for a peer: its targeted neighbor entry first, then the per-LSR-ID table.
    public func md5Password(peer: LDPIdentifier?, transportAddress: IPv4Address) -> String? {
        if let password = targetedNeighbor(transportAddress)?.md5Password { return password }
        if let peer, let password = md5Passwords[peer.lsrID] { return password }
        return md5Passwords[transportAddress]
    }

    /// Whether a change from `self` to `other` needs every session reset: the identity and
    /// the transport address are in every Hello and Initialization we sent.
    public func requiresSessionReset(comparedTo other: EngineConfiguration) -> Bool {
        lsrID != other.lsrID || transportAddress != other.transportAddress
    }
}
