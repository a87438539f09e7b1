// The LFIB every lsrd node of a lab should hold, computed from the topology file alone: nodes,
// roles and links. The routes are computed again here, from the README's rules, apart from the
// routes the lab installs (Routing.swift): `lsrlab verify` and the end-to-end tests check the
// lab's routing and lsrd's label distribution against this.
//
// Routes (README, "The lab"): every router has a route to every other router's loopback and to
// every core subnet it is not on; an LER also to the CE subnets of the other LERs; LSRs carry no
// customer routes. Next hops: every neighbour one hop closer (hop count over the core links that
// are up), one per link.
//
// Labels (lsrd's LIB, independent control, liberal retention): a router advertises implicit-null
// for what it owns (its loopback, its connected subnets) and a dynamic label for every other
// prefix it has a route to; an LFIB entry exists for a routed prefix with at least one next hop
// whose neighbour advertised a label: an incoming-label entry (pop when every next hop gave
// implicit-null, else swap) and, when some next hop wants a real label, a push (FTN) entry.
// Dynamic labels are masked (`*`); implicit-null shows as `imp-null`.
//
// Static routes (README, "The userspace plane as a label edge router"): an LER's lsrd has a
// static route for each CE subnet of another LER via that LER's loopback; with no LDP entry of
// its own the subnet gets a push entry that copies the FTN toward the loopback, or, when that
// LER is the only next hop (no FTN: implicit-null), the next hops of the loopback's pop entry.

import Foundation
import LSRControl

public struct LabExpectation: Sendable {
    public let topology: LabTopology
    /// Link identifiers (`LabTopology.Link.identifier`) out of service.
    public let down: Set<String>

    public init(_ topology: LabTopology, down: Set<String> = []) {
        self.topology = topology
        self.down = down
    }

    public typealias Link = LabTopology.Link

    public func isUp(_ link: Link) -> Bool { !down.contains(link.identifier) }

    func isRouter(_ node: String) -> Bool { topology.node(node).map { $0.role != .ce } ?? false }

    /// Router-to-router links that are up.
    public var coreLinks: [Link] { topology.links.filter { isRouter($0.a.node) && isRouter($0.b.node) && isUp($0) } }

    /// What a router owns: its loopback and the subnets of its links that are up.
    func owned(by node: String) -> Set<String> {
        var prefixes = Set(topology.links.filter { isUp($0) && ($0.a.node == node || $0.b.node == node) }.map { "\($0.subnet)" })
        if let loopback = topology.node(node)?.loopback { prefixes.insert("\(loopback)/32") }
        return prefixes
    }

    /// Hop counts from `node` over the core links that are up.
    public func hops(from node: String) -> [String: Int] {
        var distance = [node: 0], queue = [node]
        while !queue.isEmpty {
            let current = queue.removeFirst()
            for link in coreLinks {
                let neighbour = link.a.node == current ? link.b.node : link.b.node == current ? link.a.node : nil
                if let neighbour, distance[neighbour] == nil {
                    distance[neighbour] = distance[current]! + 1
                    queue.append(neighbour)
                }
            }
        }
        return distance
    }

    /// The prefixes a router routes (not its own), each with the routers that own it.
    public func routedPrefixes(of node: String) -> [String: Set<String>] {
        guard let this = topology.node(node), this.role != .ce else { return [:] }
        var result: [String: Set<String>] = [:]
        for router in topology.nodes where router.role != .ce && router.name != node {
            result["\(router.loopback!)/32"] = [router.name]
        }
        for link in coreLinks where link.a.node != node && link.b.node != node {
            result["\(link.subnet)"] = [link.a.node, link.b.node]
        }
        if this.role == .ler {
            for link in topology.links where isUp(link) {
                let (ce, router) = isRouter(link.a.node) ? (link.b.node, link.a.node) : (link.a.node, link.b.node)
                guard topology.node(ce)?.role == .ce, router != node, topology.node(router)?.role == .ler else { continue }
                result["\(link.subnet)"] = [router]
            }
        }
        return result
    }

    public struct NextHop: Hashable, Sendable {
        public var neighbour: String
        public var address: String
        public var interface: String
    }

    /// Every neighbour one hop closer to the nearest owner, one next hop per link.
    public func nextHops(of node: String, toward owners: Set<String>) -> [NextHop] {
        let distances = owners.map { hops(from: $0) }
        func cost(_ router: String) -> Int? { distances.compactMap { $0[router] }.min() }
        guard let own = cost(node), own > 0 else { return [] }
        return coreLinks.compactMap { link -> NextHop? in
            let (near, far) = link.a.node == node ? (link.a, link.b) : link.b.node == node ? (link.b, link.a) : (nil, nil)
            guard let near, let far, cost(far.node) == own - 1, let address = link.address(of: far.node) else { return nil }
            return NextHop(neighbour: far.node, address: "\(address)", interface: near.interface)
        }
    }

    /// The label a router advertises for a prefix: "imp-null", "*" (dynamic) or nil (none).
    public func advertisedLabel(of node: String, for prefix: String) -> String? {
        if owned(by: node).contains(prefix) { return "imp-null" }
        guard let owners = routedPrefixes(of: node)[prefix], !nextHops(of: node, toward: owners).isEmpty else { return nil }
        return "*"
    }

    /// The node's expected LFIB, masked, sorted.
    public func lfib(of node: String) -> [String] {
        var entries: [String] = []
        for (prefix, owners) in routedPrefixes(of: node) {
            let hops = nextHops(of: node, toward: owners).compactMap { hop -> (NextHop, String)? in
                advertisedLabel(of: hop.neighbour, for: prefix).map { (hop, $0) }
            }
            guard !hops.isEmpty else { continue }
            let text = hops.map { "\($0.0.address)%\($0.0.interface)=\($0.1)" }.sorted().joined(separator: ",")
            let pops = hops.allSatisfy { $0.1 == "imp-null" }
            entries.append("* \(prefix) \(pops ? "pop" : "swap") \(text)")
            if !pops { entries.append("- \(prefix) push \(text)") }
        }
        // A labelled FTN of the subnet's own wins (an LDP push entry always has a real label).
        for (subnet, loopback) in carriedOverLSPs(at: node) where !entries.contains(where: { $0.hasPrefix("- \(subnet) push ") }) {
            if let ftn = entries.first(where: { $0.hasPrefix("- \(loopback) push ") }) {
                entries.append(ftn.replacingOccurrences(of: "- \(loopback) push ", with: "- \(subnet) push "))
            } else if let pop = entries.first(where: { $0.hasPrefix("* \(loopback) pop ") }) {
                entries.append(pop.replacingOccurrences(of: "* \(loopback) pop ", with: "- \(subnet) push "))
            }
        }
        return entries.sorted()
    }

    /// An LER's static routes: each other LER's CE subnet, and the loopback prefix whose LSP carries it.
    public func carriedOverLSPs(at node: String) -> [String: String] {
        guard topology.node(node)?.role == .ler else { return [:] }
        var result: [String: String] = [:]
        for link in topology.links {
            let (ce, router) = isRouter(link.a.node) ? (link.b.node, link.a.node) : (link.a.node, link.b.node)
            guard topology.node(ce)?.role == .ce, router != node, let ler = topology.node(router), ler.role == .ler,
                  let loopback = ler.loopback else { continue }
            result["\(link.subnet)"] = "\(loopback)/32"
        }
        return result
    }
}

/// An actual LFIB entry in the expectation's masked form.
public func maskedEntry(_ entry: LFIBView.Entry) -> String {
    func label(_ value: UInt32) -> String { value == 3 ? "imp-null" : value >= 16 ? "*" : "\(value)" }
    let incoming = entry.inLabel.map(label) ?? "-"
    let hops = entry.nexthops.map { "\($0.address ?? "-")%\($0.interface)=\($0.outLabels.map(label).joined(separator: "/"))" }
    return "\(incoming) \(entry.fec) \(entry.action) \(hops.sorted().joined(separator: ","))"
}
