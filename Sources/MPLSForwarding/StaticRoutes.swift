// Customer prefixes reached through an LSP to a remote LER (a BGP-free core): the prefix has no
// label of its own, so it borrows the label stack of the FTN toward the LER's loopback, or,
// when that LER is a direct neighbour, the implicit-null next hops of the loopback's pop entry.

import LDPCodec
import MPLSTables

/// "Reach `prefix` through the LSP to the loopback `via`" (lsrd's `static-routes`).
public struct StaticRoute: Hashable, Sendable, Codable, CustomStringConvertible {
    public var prefix: IPPrefix
    public var via: IPv4Address

    public init(prefix: IPPrefix, via: IPv4Address) {
        self.prefix = prefix
        self.via = via
    }

    public var description: String { "\(prefix) via \(via)" }
}

extension LFIBEntry {
    /// Whether some next hop pushes a real label: an FTN of its own with implicit-null alone is
    /// no LSP, so a static route may replace it.
    public var pushesLabel: Bool {
        nextHops.contains { hop in hop.outLabels.contains { $0 != ReservedLabel.implicitNull } }
    }
}

/// The incoming-label entries of an LFIB by FEC, kept change by change beside it, so that the
/// pop entry of a loopback is found without a scan of the LFIB.
public struct IncomingLabelIndex: Hashable, Sendable {
    private var labels: [IPPrefix: Set<UInt32>] = [:]

    public init() {}

    public init(_ lfib: LFIB) {
        for entry in lfib.entries.values { insert(entry) }
    }

    /// Records `change` before it is applied to `lfib`, whose old entry for the key it drops.
    public mutating func apply(_ change: LFIBChange, before lfib: LFIB) {
        if let old = lfib.entries[change.key] { remove(old) }
        if case .replace(let entry) = change { insert(entry) }
    }

    /// The pop entry of `fec` in `lfib`: LDP has one per FEC (its local label); a static LSP
    /// naming the same FEC may add another, and the lowest label is taken.
    public func popEntry(for fec: IPPrefix, in lfib: LFIB) -> LFIBEntry? {
        guard let candidates = labels[fec] else { return nil }
        return candidates.sorted().lazy.compactMap { lfib.entries[.label($0)] }
            .first { $0.action == .pop && !$0.nextHops.isEmpty }
    }

    private mutating func insert(_ entry: LFIBEntry) {
        guard let label = entry.inLabel else { return }
        labels[entry.fec, default: []].insert(label)
    }

    private mutating func remove(_ entry: LFIBEntry) {
        guard let label = entry.inLabel else { return }
        labels[entry.fec]?.remove(label)
        if labels[entry.fec]?.isEmpty == true { labels[entry.fec] = nil }
    }
}

extension LFIB {
    /// The FTN entries the static routes add: each prefix that has no labelled FTN of its own
    /// gets the next hops toward its `via` loopback. Those are the loopback's FTN's; without an
    /// FTN, those of its pop entry: every next hop is the remote LER itself, which advertised
    /// implicit-null (RFC 3032 §2.1), so LDP pushes nothing and keeps no FTN, and the customer's
    /// packets leave as plain IP, as penultimate-hop popping (RFC 3031 §3.16) leaves them. Routes
    /// whose loopback has neither add nothing. Pure: called again whenever the LFIB changes;
    /// `incoming` must index this LFIB.
    public func staticRouteEntries(_ routes: [StaticRoute], incoming: IncomingLabelIndex) -> [LFIBEntry] {
        var result: [LFIBKey: LFIBEntry] = [:]
        for route in routes where route.prefix.family == .ipv4 {
            let key = LFIBKey.prefix(route.prefix)
            if let own = entries[key], own.pushesLabel { continue }
            guard let hops = nextHops(toward: IPPrefix(route.via, length: 32), incoming: incoming) else { continue }
            // The first route listed for a prefix wins; the configuration refuses duplicates anyway.
            if result[key] == nil { result[key] = LFIBEntry(key: key, fec: route.prefix, nextHops: hops) }
        }
        return result.values.sorted { $0.key < $1.key }
    }

    /// `staticRouteEntries` indexing this LFIB first: O(entries), for a one-off resolution.
    public func staticRouteEntries(_ routes: [StaticRoute]) -> [LFIBEntry] {
        staticRouteEntries(routes, incoming: IncomingLabelIndex(self))
    }

    /// The next hops of the LSP to `loopback`: its FTN's, or its pop entry's (nil: no LSP).
    func nextHops(toward loopback: IPPrefix, incoming: IncomingLabelIndex) -> [LFIBNextHop]? {
        if let ftn = entries[.prefix(loopback)], !ftn.nextHops.isEmpty { return ftn.nextHops }
        return incoming.popEntry(for: loopback, in: self)?.nextHops
    }

    /// This LFIB with the static routes' entries in place.
    public func resolvingStaticRoutes(_ routes: [StaticRoute]) -> LFIB {
        var resolved = self
        resolved.apply(staticRouteEntries(routes).map(LFIBChange.replace))
        return resolved
    }

    /// The IPv4 prefixes whose packets the kernel must hand to the userspace plane: every FTN
    /// entry, so that the engine forwards what the LFIB says for them, as the kernel dataplane
    /// installs every FTN entry. LDP keeps no FTN that pushes only implicit-null (the kernel
    /// routes those prefixes the same way); a static route toward an adjacent LER has one, and
    /// the kernel has no route of its own for it.
    public var tunnelPrefixes: Set<IPPrefix> {
        Set(entries.values.compactMap { entry in
            guard case .prefix(let prefix) = entry.key, prefix.family == .ipv4, !entry.nextHops.isEmpty else { return nil }
            return prefix
        })
    }
}
