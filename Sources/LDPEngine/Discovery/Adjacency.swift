// Hello adjacencies (RFC 5036 §2.4, §2.5.5, §2.5.6).

import LDPCodec

/// An adjacency is identified by where its Hellos arrive: a Link Hello adjacency by the
/// interface and the peer, a Targeted Hello adjacency by the peer's source address.
public enum AdjacencyKey: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    case link(interface: String, peer: LDPIdentifier)
    case targeted(source: IPv4Address)

    public var description: String {
        switch self {
        case .link(let interface, let peer): "\(interface)/\(peer)"
        case .targeted(let source): "targeted/\(source)"
        }
    }
}

/// Hello hold times (§3.5.2).
public enum HelloHoldTime {
    public static let defaultLink: UInt16 = 15
    public static let defaultTargeted: UInt16 = 45
    public static let infinite: UInt16 = 0xFFFF

    /// §2.5.5: the hold time of an adjacency is the smaller of both proposals, where 0 means
    /// the default for the Hello type and 0xFFFF means infinite (so only both infinite is).
    public static func negotiated(local: UInt16, received: UInt16, targeted: Bool) -> UInt16 {
        let fallback = targeted ? defaultTargeted : defaultLink
        let ours = local == 0 ? fallback : local
        let theirs = received == 0 ? fallback : received
        return min(ours, theirs)
    }

    /// How long the adjacency lives without a Hello; nil when infinite.
    public static func lifetime(_ holdTime: UInt16) -> EngineDuration? {
        holdTime == infinite ? nil : .seconds(Int64(holdTime))
    }
}

/// One Hello adjacency.
public struct Adjacency: Hashable, Sendable, Codable {
    public var key: AdjacencyKey
    public var peer: LDPIdentifier
    public var source: IPAddress
    /// The address the session with this peer uses (§2.5.2): the Transport Address TLV, or the
    /// Hello's source address.
    public var transportAddress: IPv4Address
    public var proposedHoldTime: UInt16
    public var holdTime: UInt16
    /// Both sides set the G bit (RFC 6720): the session is single-hop and uses GTSM.
    public var gtsm: Bool
    /// The peer asks for Targeted Hellos back (R bit).
    public var requestsTargetedHellos: Bool
    public var configurationSequenceNumber: UInt32?
    public var since: EngineTime
    /// nil when the hold time is infinite.
    public var expiresAt: EngineTime?

    public var isTargeted: Bool {
        if case .targeted = key { true } else { false }
    }

    public var discoveryKind: DiscoveryKind {
        switch key {
        case .link(let interface, _): .link(interface: interface)
        case .targeted(let source): .targeted(source: source)
        }
    }
}
