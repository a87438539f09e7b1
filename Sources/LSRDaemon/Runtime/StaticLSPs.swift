// Operator-configured LSPs (like FRR's `mpls lsp` and `ip route ... label`): entries the LFIB
// holds beside what LDP computed. A static entry wins over LDP's for the same key, and LDP's
// comes back when the static one is removed.

import LDPCodec
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

/// The LFIB the dataplanes get: LDP's entries overlaid with the static ones. Pure: it returns
/// the changes to pass on and keeps both layers.
public struct LayeredLFIB: Sendable {
    public private(set) var ldp = LFIB()
    public private(set) var effective = LFIB()
    public private(set) var staticEntries: [LFIBKey: LFIBEntry] = [:]

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
        let passing = changes.filter { staticEntries[$0.key] == nil }
        effective.apply(passing)
        return passing
    }

    /// A new set of static LSPs (at start and on reload): the changes that get there.
    public mutating func setStatic(_ lsps: [StaticLSP]) -> [LFIBChange] {
        let wanted = Self.entries(lsps)
        var changes: [LFIBChange] = []
        for key in staticEntries.keys.sorted() where wanted[key] == nil {
            changes.append(ldp.entries[key].map(LFIBChange.replace) ?? .remove(key))
        }
        for (key, entry) in wanted.sorted(by: { $0.key < $1.key }) where effective.entries[key] != entry {
            changes.append(.replace(entry))
        }
        staticEntries = wanted
        effective.apply(changes)
        return changes
    }
}
