// What every LFIB should hold once LDP has converged, computed from the routes and the labels
// each node advertised (DU, independent control, liberal retention: RFC 5036 Appendix A), and
// a packet walk that follows the LFIBs hop by hop.

import LDPCodec
@testable import LDPEngine
import MPLSTables

extension InMemoryNetwork {
    /// The label `node` advertises for `prefix`: its LIB's local label.
    func localLabel(_ node: String, _ prefix: IPPrefix) -> UInt32? {
        nodes[node]!.engine.labelBinding(for: prefix)?.localLabel
    }

    /// For every non-egress route: the swap entry keyed by the node's own label, and an FTN
    /// entry unless every next hop is the egress (implicit-null: plain IP forwarding).
    func referenceLFIB(_ name: String) -> LFIB {
        let node = nodes[name]!
        var entries: [LFIBEntry] = []
        for route in node.routes.values where !route.isEgress && !route.nextHops.isEmpty {
            let hops = route.nextHops.compactMap { hop -> LFIBNextHop? in
                guard let address = hop.address, let neighbor = owner(of: address),
                      let label = localLabel(neighbor, route.prefix) else { return nil }
                return LFIBNextHop(address: address, interface: hop.interface, outLabels: [label])
            }
            guard !hops.isEmpty else { continue }
            if let local = localLabel(name, route.prefix), local >= ReservedLabel.firstUnreserved {
                entries.append(LFIBEntry(key: .label(local), fec: route.prefix, nextHops: hops))
            }
            if hops.contains(where: { $0.outLabels != [ReservedLabel.implicitNull] }) {
                entries.append(LFIBEntry(key: .prefix(route.prefix), fec: route.prefix, nextHops: hops))
            }
        }
        return LFIB(entries)
    }

    /// Whether every running node's LFIB, as built from the emitted deltas, is the reference.
    func lfibsMatchReference() -> Bool {
        nodes.values.allSatisfy { !$0.isRunning || $0.lfib == referenceLFIB($0.name) }
    }

    /// Follows a packet for `destination` from `source` through the LFIBs (first next hop at
    /// each step); returns the nodes visited, or nil when it is dropped or loops.
    func walk(from source: String, to destination: IPPrefix) -> [String]? {
        var path = [source]
        var current = source
        var labels: [UInt32] = []
        while path.count <= nodes.count + 1 {
            let node = nodes[current]!
            if labels.isEmpty || labels == [ReservedLabel.implicitNull] {
                labels = []
                if node.routes[destination]?.isEgress == true { return path }
                // IP lookup: push per the FTN, or forward unlabeled to the egress neighbor.
                if let entry = node.lfib.entries[.prefix(destination)], let hop = entry.nextHops.first {
                    labels = hop.outLabels
                    guard let next = hop.address.flatMap(owner(of:)) else { return nil }
                    current = next
                } else if let hop = node.routes[destination]?.nextHops.first, let address = hop.address,
                          let next = owner(of: address), nodes[next]!.routes[destination]?.isEgress == true {
                    current = next
                } else {
                    return nil
                }
            } else {
                guard let entry = node.lfib.entries[.label(labels[0])], let hop = entry.nextHops.first,
                      entry.fec == destination, let next = hop.address.flatMap(owner(of:)) else { return nil }
                labels = hop.outLabels
                current = next
            }
            path.append(current)
        }
        return nil
    }
}
