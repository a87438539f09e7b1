// The label forwarding information base as the forwarding planes see it: entries keyed by an
// incoming label (swap/pop) or by a prefix (FTN, push). The control plane emits changes
// (`LFIBChange`); the dataplanes apply them. No LDP, no I/O here.

import LDPCodec

/// Where an LFIB entry is looked up: an incoming label, or an IP prefix at ingress (FTN).
public enum LFIBKey: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    case label(UInt32)
    case prefix(IPPrefix)

    public var description: String {
        switch self {
        case .label(let label): "label \(label)"
        case .prefix(let prefix): "ftn \(prefix)"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.label(let a), .label(let b)): a < b
        case (.prefix(let a), .prefix(let b)): a < b
        case (.prefix, .label): true
        case (.label, .prefix): false
        }
    }
}

/// One next hop of an entry. `outLabels` is the stack to impose, outermost first, written
/// literally: [3] is implicit-null (pop, or push nothing), [0]/[2] explicit-null.
public struct LFIBNextHop: Hashable, Comparable, Sendable, Codable {
    public var address: IPAddress?
    public var interface: String
    public var outLabels: [UInt32]

    public init(address: IPAddress?, interface: String, outLabels: [UInt32]) {
        self.address = address
        self.interface = interface
        self.outLabels = outLabels
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        if lhs.interface != rhs.interface { return lhs.interface < rhs.interface }
        if lhs.address != rhs.address {
            guard let left = lhs.address else { return true }
            guard let right = rhs.address else { return false }
            return left < right
        }
        return lhs.outLabels.lexicographicallyPrecedes(rhs.outLabels)
    }
}

/// What the entry does to a packet, derived from its key and out labels.
public enum LFIBAction: String, Hashable, Sendable, Codable {
    case push
    case swap
    case pop
}

public struct LFIBEntry: Hashable, Sendable, Codable {
    public var key: LFIBKey
    /// The FEC this entry forwards.
    public var fec: IPPrefix
    /// Equal-cost next hops (ECMP), sorted.
    public var nextHops: [LFIBNextHop]

    public init(key: LFIBKey, fec: IPPrefix, nextHops: [LFIBNextHop]) {
        self.key = key
        self.fec = fec
        self.nextHops = nextHops.sorted()
    }

    public var inLabel: UInt32? {
        if case .label(let label) = key { label } else { nil }
    }

    /// Swap when any next hop carries a real label; pop when all are implicit-null.
    public var action: LFIBAction {
        switch key {
        case .prefix: return .push
        case .label:
            let popsEverywhere = nextHops.allSatisfy { $0.outLabels.isEmpty || $0.outLabels == [ReservedLabel.implicitNull] }
            return popsEverywhere ? .pop : .swap
        }
    }
}

/// A delta to the LFIB. `replace` installs or wholly replaces the entry with that key.
public enum LFIBChange: Hashable, Sendable, Codable {
    case replace(LFIBEntry)
    case remove(LFIBKey)

    public var key: LFIBKey {
        switch self {
        case .replace(let entry): entry.key
        case .remove(let key): key
        }
    }
}

/// A whole LFIB as a value: what `apply` of all deltas so far gives.
public struct LFIB: Hashable, Sendable, Codable {
    public private(set) var entries: [LFIBKey: LFIBEntry] = [:]

    public init() {}

    public init(_ entries: [LFIBEntry]) {
        for entry in entries { self.entries[entry.key] = entry }
    }

    public mutating func apply(_ change: LFIBChange) {
        switch change {
        case .replace(let entry): entries[entry.key] = entry
        case .remove(let key): entries[key] = nil
        }
    }

    public mutating func apply(_ changes: some Sequence<LFIBChange>) {
        for change in changes { apply(change) }
    }

    public var sortedEntries: [LFIBEntry] { entries.values.sorted { $0.key < $1.key } }

    /// The entries an operator asks about (`lsrctl show lfib SELECTOR`), sorted.
    public func entries(selectedBy selector: LFIBSelector) -> [LFIBEntry] {
        switch selector {
        case .inLabel(let label):
            return entries[.label(label)].map { [$0] } ?? []
        case .fec(let fec):
            return sortedEntries.filter { $0.fec == fec }
        case .destination(let address):
            // The FEC a packet to `address` belongs to: the longest that contains it.
            let fec = entries.values.lazy.map(\.fec).filter { $0.contains(address) }.max { $0.length < $1.length }
            return fec.map { entries(selectedBy: .fec($0)) } ?? []
        }
    }
}

/// Which LFIB entries to show: the one with an in-label, every entry of a FEC, or every entry
/// of the FEC a destination address falls in (longest match, as the forwarder finds it).
public enum LFIBSelector: Hashable, Sendable {
    case inLabel(UInt32)
    case fec(IPPrefix)
    case destination(IPAddress)

    /// "17" (a label), "10.255.0.3/32" (a FEC) or "192.168.2.1" (an address).
    public init?(_ text: String) {
        if let label = UInt32(text), label <= ReservedLabel.maximum {
            self = .inLabel(label)
        } else if text.contains("/"), let prefix = IPPrefix(text) {
            self = .fec(prefix)
        } else if let address = IPAddress(text) {
            self = .destination(address)
        } else {
            return nil
        }
    }
}
