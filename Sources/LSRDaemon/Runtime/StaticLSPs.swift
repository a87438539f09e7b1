// Operator-configured LSPs (like FRR's `mpls lsp` and `ip route ... label`): entries the LFIB
// holds beside what LDP computed. A static entry wins over LDP's for the same key, and LDP's
// comes back when the static one is removed. Over both, the static routes: customer prefixes
// that borrow the FTN of a remote LER's loopback, or its pop entry when that LER is a direct
// neighbour (see StaticRoute).

import LDPCodec
import MPLSForwarding
import MPLSTables

/// One configured static LSP hop: an incoming label (swap or pop) or an IPv4 prefix (push).
public struct StaticLSP: Hashable, Sendable, Codable {
    public var key: LFIBKey
    /// What travels on the LSP, for display; a prefix key is its own FEC.
    public var fec: IPPrefix
    public var nextHop: LFIBNextHop

    public init(key: LFIBKey, fec: IPPrefix, nextHop: LFIBNextHop) {
        self.key = key
        self.fec = fec
        self.nextHop = nextHop
    }
}

/// The LFIB the dataplanes get: LDP's entries overlaid with the static LSPs, then the static
/// routes resolved over that. Pure: it returns the changes to pass on and keeps the layers, so
/// every dataplane and `lsrctl` see one and the same LFIB.
public struct LayeredLFIB: Sendable {
    public private(set) var ldp = LFIB()
    /// LDP's entries with the static LSPs in place: what the static routes resolve over.
    public private(set) var base = LFIB()
    /// `base`'s incoming-label entries by FEC: a loopback's pop entry carries a static route
    /// when the loopback's LER is a direct neighbour.
    private var incoming = IncomingLabelIndex()
    public private(set) var effective = LFIB()
    public private(set) var staticEntries: [LFIBKey: LFIBEntry] = [:]
    public private(set) var staticRoutes: [StaticRoute] = []

    public init() {}

    /// Several hops with one key are one ECMP entry.
    public static func entries(_ lsps: [StaticLSP]) -> [LFIBKey: LFIBEntry] {
        var merged: [LFIBKey: LFIBEntry] = [:]
        for lsp in lsps {
            var entry = merged[lsp.key] ?? LFIBEntry(key: lsp.key, fec: lsp.fec, nextHops: [])
            entry = LFIBEntry(key: lsp.key, fec: entry.fec, nextHops: entry.nextHops + [lsp.nextHop])
            merged[lsp.key] = entry
        }
        return merged
    }

    /// LDP's changes; those under a static key are kept aside, the rest pass.
    public mutating func applyLDP(_ changes: [LFIBChange]) -> [LFIBChange] {
        ldp.apply(changes)
        return settle(changes.filter { staticEntries[$0.key] == nil })
    }

    /// A new set of static LSPs (at start and on reload): the changes that get there.
    public mutating func setStatic(_ lsps: [StaticLSP]) -> [LFIBChange] {
        let wanted = Self.entries(lsps)
        var changes: [LFIBChange] = []
        for key in staticEntries.keys.sorted() where wanted[key] == nil {
            changes.append(ldp.entries[key].map(LFIBChange.replace) ?? .remove(key))
        }
        for (key, entry) in wanted.sorted(by: { $0.key < $1.key }) where base.entries[key] != entry {
            changes.append(.replace(entry))
        }
        staticEntries = wanted
        return settle(changes)
    }

    /// A new set of static routes (at start and on reload): the changes that get there.
    public mutating func setStaticRoutes(_ routes: [StaticRoute]) -> [LFIBChange] {
        let previous = staticRoutes.map { LFIBKey.prefix($0.prefix) }
        staticRoutes = routes
        return settle([], alsoChecking: previous)
    }

    /// The effective changes for `changes` to the base: each changed key as it now resolves
    /// (passed on even when unchanged, which is how an installer retries a failed entry), then
    /// the static routes (and `alsoChecking`) whose entries moved with the LSPs under them.
    /// Costs O(changes + static routes).
    mutating func settle(_ changes: [LFIBChange], alsoChecking: [LFIBKey] = []) -> [LFIBChange] {
        for change in changes {
            incoming.apply(change, before: base)
            base.apply(change)
        }
        guard !staticRoutes.isEmpty || !alsoChecking.isEmpty else {
            effective.apply(changes)
            return changes
        }
        let resolved = Dictionary(base.staticRouteEntries(staticRoutes, incoming: incoming).map { ($0.key, $0) },
                                  uniquingKeysWith: { first, _ in first })
        func target(_ key: LFIBKey) -> LFIBChange {
            (resolved[key] ?? base.entries[key]).map(LFIBChange.replace) ?? .remove(key)
        }
        var result: [LFIBChange] = []
        var seen = Set<LFIBKey>()
        for change in changes where seen.insert(change.key).inserted { result.append(target(change.key)) }
        for key in staticRoutes.map({ LFIBKey.prefix($0.prefix) }) + alsoChecking where seen.insert(key).inserted {
            let change = target(key)
            let unchanged = switch change {
            case .replace(let entry): effective.entries[key] == entry
            case .remove: effective.entries[key] == nil
            }
            if !unchanged { result.append(change) }
        }
        effective.apply(result)
        return result
    }
}
