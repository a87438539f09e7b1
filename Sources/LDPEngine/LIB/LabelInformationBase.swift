// CONTRACT between the session layer and the LIB. The LIB work fills in the bodies and may add
// members; it keeps these names and signatures so the session layer can call them.

import LDPCodec
import MPLSTables

/// Label distribution settings (RFC 5036 §2.6).
public struct LabelDistributionConfiguration: Hashable, Sendable, Codable {
    public enum Control: String, Hashable, Sendable, Codable { case independent, ordered }
    public enum FECFilter: Hashable, Sendable, Codable {
        case all
        case hostRoutesOnly
        case prefixes([IPPrefix])
    }

    public var localLSRID: IPv4Address
    /// Dynamic labels are allocated from here (default 16...1_048_575).
    public var labelRange: ClosedRange<UInt32>
    public var control: Control
    /// Advertise explicit-null (0) instead of implicit-null (3) for own/connected FECs.
    public var explicitNull: Bool
    public var fecFilter: FECFilter

    public init(localLSRID: IPv4Address, labelRange: ClosedRange<UInt32> = 16...ReservedLabel.maximum,
                control: Control = .independent, explicitNull: Bool = false, fecFilter: FECFilter = .all) {
        self.localLSRID = localLSRID
        self.labelRange = labelRange
        self.control = control
        self.explicitNull = explicitNull
        self.fecFilter = fecFilter
    }
}

extension LabelDistributionConfiguration.FECFilter {
    /// Whether LDP allocates and advertises a local label for this prefix.
    public func admits(_ prefix: IPPrefix) -> Bool {
        switch self {
        case .all: true
        case .hostRoutesOnly: prefix.isHostRoute
        case .prefixes(let prefixes): prefixes.contains(prefix)
        }
    }
}

/// A route from the routing table, as the LIB sees it.
public struct Route: Hashable, Sendable, Codable {
    public struct NextHop: Hashable, Comparable, Sendable, Codable {
        /// Nil for a directly connected route.
        public var address: IPAddress?
        public var interface: String
        public init(address: IPAddress?, interface: String) {
            self.address = address
            self.interface = interface
        }
        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.interface, lhs.address?.description ?? "") < (rhs.interface, rhs.address?.description ?? "")
        }
    }
    public var prefix: IPPrefix
    /// Equal-cost next hops. A connected route has one next hop without an address;
    /// a route to one of this LSR's own addresses (a loopback) has `isLocal` set.
    public var nextHops: [NextHop]
    public var isLocal: Bool

    public init(prefix: IPPrefix, nextHops: [NextHop], isLocal: Bool = false) {
        self.prefix = prefix
        self.nextHops = nextHops
        self.isLocal = isLocal
    }

    /// Own or connected FECs get implicit-null (or explicit-null) as local label.
    public var isEgress: Bool { isLocal || nextHops.contains { $0.address == nil } }
}

/// What an operational peer negotiated that matters to label distribution.
public struct PeerCapabilities: Hashable, Sendable, Codable {
    public var typedWildcardFEC: Bool
    public var unrecognizedNotification: Bool
    public var dynamicAnnouncement: Bool
    public init(typedWildcardFEC: Bool = false, unrecognizedNotification: Bool = false, dynamicAnnouncement: Bool = false) {
        self.typedWildcardFEC = typedWildcardFEC
        self.unrecognizedNotification = unrecognizedNotification
        self.dynamicAnnouncement = dynamicAnnouncement
    }
}

/// What the LIB asks the session layer to do.
public enum LIBOutput: Hashable, Sendable, Codable {
    /// Send this message body to an operational peer; the session layer assigns the message id
    /// unless `messageID` is given (Label Request ids the LIB must remember).
    case send(to: LDPIdentifier, body: MessageBody, messageID: UInt32?)
    case lfib(LFIBChange)
    case event(LIBEvent)
}

/// Things worth a log line.
public enum LIBEvent: Hashable, Sendable, Codable {
    case mappingReceived(peer: LDPIdentifier, fec: IPPrefix, label: UInt32)
    case mappingWithdrawn(peer: LDPIdentifier, fec: IPPrefix)
    case labelAllocated(fec: IPPrefix, label: UInt32)
    case labelsExhausted(fec: IPPrefix)
    case protocolError(peer: LDPIdentifier, detail: String)
    case endOfLIBReceived(peer: LDPIdentifier)
    /// A label-related advisory notification (No Route, Loop Detected, Label Request Aborted,
    /// No Label Resources, Label Resources Available...), with the prefixes of its FEC TLV.
    case notificationReceived(peer: LDPIdentifier, status: StatusCode, fecs: [IPPrefix])
    /// Every peer released a withdrawn label: it is free for reuse.
    case labelFreed(label: UInt32)
}

/// The label information base and the RFC 5036 Appendix A procedures (DU, liberal retention).
/// Sans-I/O: every call returns what to send and how the LFIB changes, as deltas.
public struct LabelInformationBase: Sendable {
    public internal(set) var configuration: LabelDistributionConfiguration

    // MARK: State (see LIBState.swift for the record types)

    var fecs: [IPPrefix: FECRecord] = [:]
    /// Operational peers by slot; nil slots are free for reuse.
    var peers: [PeerRecord?] = []
    var slotsByPeer: [LDPIdentifier: PeerSlot] = [:]
    var freeSlots: [PeerSlot] = []
    /// Which peer advertised an address: resolves route next hops to peers.
    var peerByAddress: [IPAddress: PeerSlot] = [:]
    /// Routes by next-hop address, so that address changes touch only the FECs they concern.
    var routesByNextHop: [IPAddress: Set<IPPrefix>] = [:]
    var allocator: LabelAllocator
    /// Withdrawn local labels that peers still hold, by label.
    var pendingReleases: [UInt32: PendingRelease] = [:]
    /// FECs that should have a dynamic label but found the range exhausted.
    var starvedFECs: Set<IPPrefix> = []
    var localAddresses: Set<IPAddress> = []
    /// How many Label Requests wait in `PeerRecord.deferredRequests`, to skip the check when 0.
    var deferredRequestCount = 0

    public init(configuration: LabelDistributionConfiguration) {
        self.configuration = configuration
        self.allocator = LabelAllocator(range: configuration.labelRange)
    }

    /// A session reached OPERATIONAL: send our Address message and our label mappings,
    /// then End-of-LIB (RFC 5919) when the peer advertised Unrecognized Notification.
    public mutating func peerUp(_ peer: LDPIdentifier, capabilities: PeerCapabilities) -> [LIBOutput] {
        var outputs: [LIBOutput] = []
        startPeer(peer, capabilities: capabilities, into: &outputs)
        return outputs
    }

    /// The session is gone: forget what the peer sent us and what we sent it; remove LFIB
    /// next hops that used its labels.
    public mutating func peerDown(_ peer: LDPIdentifier) -> [LIBOutput] {
        var outputs: [LIBOutput] = []
        stopPeer(peer, into: &outputs)
        return outputs
    }

    /// A message from an operational peer: Address, Address Withdraw, Label Mapping, Label
    /// Request, Label Withdraw, Label Release, Label Abort Request, and Notifications that
    /// concern labels (End-of-LIB, No Route, Loop Detected, Label Request Aborted, ...).
    public mutating func receive(_ message: Message, from peer: LDPIdentifier) -> [LIBOutput] {
        var outputs: [LIBOutput] = []
        handle(message, from: peer, into: &outputs)
        return outputs
    }

    /// A route was added or replaced (the whole set of next hops).
    public mutating func update(_ route: Route) -> [LIBOutput] {
        var outputs: [LIBOutput] = []
        setRoute(route, for: route.prefix, into: &outputs)
        return outputs
    }

    /// A route went away.
    public mutating func removeRoute(_ prefix: IPPrefix) -> [LIBOutput] {
        var outputs: [LIBOutput] = []
        setRoute(nil, for: prefix, into: &outputs)
        return outputs
    }

    /// This LSR's interface addresses, as advertised in Address messages (RFC 5036 §3.5.5).
    public mutating func setLocalAddresses(_ addresses: Set<IPAddress>) -> [LIBOutput] {
        var outputs: [LIBOutput] = []
        replaceLocalAddresses(with: addresses, into: &outputs)
        return outputs
    }

    /// Configuration changed without a session reset (label range, control mode, filters...).
    public mutating func reconfigure(_ configuration: LabelDistributionConfiguration) -> [LIBOutput] {
        var outputs: [LIBOutput] = []
        applyConfiguration(configuration, into: &outputs)
        return outputs
    }
}
