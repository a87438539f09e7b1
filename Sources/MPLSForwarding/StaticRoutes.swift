// Customer prefixes reached through an LSP to a remote LER (a BGP-free core): the prefix has no
// label of its own, so it borrows the label stack of the FTN toward the LER's loopback.

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
    /// Whether some next hop pushes a real label: implicit-null alone leaves plain IP, which
    /// the kernel's own routing sends the same way.
    public var pushesLabel: Bool {
        nextHops.contains { hop in hop.outLabels.contains { $0 != ReservedLabel.implicitNull } }
    }
}

extension LFIB {
    /// The FTN entries the static routes add: each prefix that has no labelled FTN of its own
    /// gets a copy of the next hops of the FTN toward its `via` loopback. Routes whose loopback
    /// has no FTN (no LSP yet) add nothing. Pure: called again whenever the LFIB changes.
    public func staticRouteEntries(_ routes: [StaticRoute]) -> [LFIBEntry] {
        var result: [LFIBKey: LFIBEntry] = [:]
        for route in routes where route.prefix.family == .ipv4 {
            let key = LFIBKey.prefix(route.prefix)
            if let own = entries[key], own.pushesLabel { continue }
            guard let egress = entries[.prefix(IPPrefix(route.via, length: 32))], !egress.nextHops.isEmpty else { continue }
            // The first route listed for a prefix wins; the configuration refuses duplicates anyway.
            if result[key] == nil { result[key] = LFIBEntry(key: key, fec: route.prefix, nextHops: egress.nextHops) }
        }
        return result.values.sorted { $0.key < $1.key }
    }

    /// This LFIB with the static routes' entries in place.
    public func resolvingStaticRoutes(_ routes: [StaticRoute]) -> LFIB {
        var resolved = self
        resolved.apply(staticRouteEntries(routes).map(LFIBChange.replace))
        return resolved
    }

    /// The IPv4 prefixes whose packets the kernel must hand to the userspace plane: FTN entries
    /// that push at least one real label.
    public var tunnelPrefixes: Set<IPPrefix> {
        Set(entries.values.compactMap { entry in
            guard case .prefix(let prefix) = entry.key, prefix.family == .ipv4, entry.pushesLabel else { return nil }
            return prefix
        })
    }
}
