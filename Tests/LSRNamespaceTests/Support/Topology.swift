// Test topologies: nodes and links, shortest-path static routes (ECMP where costs tie), and the
// LFIB each node should end up with, predicted from the routes and the labels the nodes chose.

import Foundation
import LSRControl

struct Topology {
    struct Link {
        var a: String, interfaceA: String
        var b: String, interfaceB: String
        /// "10.0.12" for 10.0.12.0/24; a gets .1, b gets .2.
        var subnet: String
        var addressA: String { subnet + ".1" }
        var addressB: String { subnet + ".2" }
        var prefix: String { subnet + ".0/24" }
    }

    var loopbacks: [String: String]
    var links: [Link]
    var nodes: [String] { loopbacks.keys.sorted() }

    /// The links that are up (tests take links down).
    var downLinks: Set<String> = []

    func isUp(_ link: Link) -> Bool { !downLinks.contains(link.prefix) }

    /// (neighbor, its address on the shared link, our interface) for each up link of `node`.
    func adjacent(_ node: String) -> [(neighbor: String, address: String, interface: String)] {
        links.filter(isUp).compactMap { link in
            if link.a == node { return (link.b, link.addressB, link.interfaceA) }
            if link.b == node { return (link.a, link.addressA, link.interfaceB) }
            return nil
        }
    }

    func hopCounts(from source: String) -> [String: Int] {
        var distance = [source: 0]
        var frontier = [source]
        while !frontier.isEmpty {
            var next: [String] = []
            for node in frontier {
                for (neighbor, _, _) in adjacent(node) where distance[neighbor] == nil {
                    distance[neighbor] = distance[node]! + 1
                    next.append(neighbor)
                }
            }
            frontier = next
        }
        return distance
    }

    /// Every prefix in the network and the nodes that own it (a loopback or a link's two ends).
    var prefixes: [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for (node, loopback) in loopbacks { result["\(loopback)/32"] = [node] }
        for link in links where isUp(link) { result[link.prefix] = [link.a, link.b] }
        return result
    }

    /// The static routes of `node`: prefix → ECMP next hops (address, interface, neighbor).
    func routes(of node: String) -> [String: [(address: String, interface: String, neighbor: String)]] {
        var result: [String: [(address: String, interface: String, neighbor: String)]] = [:]
        let distances = Dictionary(uniqueKeysWithValues: nodes.map { ($0, hopCounts(from: $0)) })
        for (prefix, owners) in prefixes where !owners.contains(node) {
            // Cost to the prefix: hops to the nearest owner.
            func cost(_ from: String) -> Int? { owners.compactMap { distances[from]?[$0] }.min() }
            guard let own = cost(node) else { continue }
            let hops = adjacent(node).filter { cost($0.neighbor) == own - 1 }
            if !hops.isEmpty { result[prefix] = hops.map { ($0.address, $0.interface, $0.neighbor) } }
        }
        return result
    }

    /// Installs the static routes in every node, replacing what was there.
    func installRoutes(in lab: NamespaceLab) throws {
        for node in nodes {
            for (prefix, hops) in routes(of: node) {
                var arguments = ["ip", "route", "replace", prefix]
                if hops.count == 1 {
                    arguments += ["via", hops[0].address, "dev", hops[0].interface]
                } else {
                    for hop in hops { arguments += ["nexthop", "via", hop.address, "dev", hop.interface] }
                }
                try lab.exec(node, arguments)
            }
        }
    }

    /// The LFIB `node` should hold, given each node's local labels (`labels[node][prefix]`).
    func expectedLFIB(of node: String, labels: [String: [String: UInt32]]) -> [ComparableEntry] {
        var entries: [ComparableEntry] = []
        for (prefix, hops) in routes(of: node) {
            let outgoing = hops.compactMap { hop -> LFIBView.NextHop? in
                guard let label = labels[hop.neighbor]?[prefix] else { return nil }
                return LFIBView.NextHop(address: hop.address, interface: hop.interface, outLabels: [label])
            }
            guard !outgoing.isEmpty else { continue }
            if let local = labels[node]?[prefix], local != 3 {
                let pops = outgoing.allSatisfy { $0.outLabels == [3] }
                entries.append(ComparableEntry(inLabel: local, fec: prefix, action: pops ? "pop" : "swap", nexthops: outgoing))
            }
            let pushing = outgoing.filter { $0.outLabels != [3] }
            if !pushing.isEmpty {
                entries.append(ComparableEntry(inLabel: nil, fec: prefix, action: "push", nexthops: outgoing))
            }
        }
        return entries.sorted()
    }
}

/// An LFIB entry without counters and install flags, for comparisons.
struct ComparableEntry: Comparable, CustomStringConvertible {
    var inLabel: UInt32?
    var fec: String
    var action: String
    var nexthops: [LFIBView.NextHop]

    init(inLabel: UInt32?, fec: String, action: String, nexthops: [LFIBView.NextHop]) {
        self.inLabel = inLabel
        self.fec = fec
        self.action = action
        self.nexthops = nexthops.sorted { ($0.interface, $0.address ?? "") < ($1.interface, $1.address ?? "") }
    }

    init(_ entry: LFIBView.Entry) {
        self.init(inLabel: entry.inLabel, fec: entry.fec, action: entry.action, nexthops: entry.nexthops)
    }

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.inLabel.map { Int($0) } ?? -1, lhs.fec) < (rhs.inLabel.map { Int($0) } ?? -1, rhs.fec)
    }

    var description: String {
        let hops = nexthops.map { "\($0.address ?? "-")%\($0.interface)[\($0.outLabels.map(String.init).joined(separator: "/"))]" }
        return "\(inLabel.map(String.init) ?? "-") \(fec) \(action) \(hops.joined(separator: ","))"
    }
}

extension NamespaceLab {
    /// Each node's local label per FEC, from `show ldp binding`.
    func localLabels(_ nodes: [String]) throws -> [String: [String: UInt32]] {
        var labels: [String: [String: UInt32]] = [:]
        for node in nodes {
            let view = try show(node, ["show", "ldp", "binding"], as: BindingsView.self)
            for binding in view.bindings { if let local = binding.localLabel { labels[node, default: [:]][binding.fec] = local } }
        }
        return labels
    }

    func lfib(_ node: String) throws -> [ComparableEntry] {
        try show(node, ["show", "lfib"], as: LFIBView.self).entries.map(ComparableEntry.init).sorted()
    }

    /// Builds the topology: nodes, links, static routes, one lsrd per node with fast hellos.
    func build(_ topology: Topology, extraConfiguration: [String: String] = [:]) throws {
        for node in topology.nodes { try addNode(node, loopback: topology.loopbacks[node]!) }
        for link in topology.links {
            try addLink(link.a, link.interfaceA, link.b, link.interfaceB, subnet: link.subnet)
        }
        try topology.installRoutes(in: self)
        for node in topology.nodes {
            let interfaces = topology.adjacent(node).map { "  - { name: \($0.interface), hello-interval: 1, hold-time: 3 }" }
            try startDaemon(node, configuration: """
                router-id: \(topology.loopbacks[node]!)
                interfaces:
                \(interfaces.joined(separator: "\n"))
                \(extraConfiguration[node] ?? "")
                """)
        }
    }

    /// Waits until every node's LFIB is what the topology predicts.
    func waitForConvergence(_ topology: Topology, timeout: Double = 40) throws {
        var last: [String: ([ComparableEntry], [ComparableEntry])] = [:]
        do {
            try wait(timeout: timeout, "the LFIBs to converge") {
                let labels = try localLabels(topology.nodes)
                var converged = true
                for node in topology.nodes {
                    let expected = topology.expectedLFIB(of: node, labels: labels)
                    let actual = try lfib(node)
                    last[node] = (expected, actual)
                    if expected != actual { converged = false }
                }
                return converged
            }
        } catch {
            let detail = last.sorted { $0.key < $1.key }.map { node, pair in
                "\(node):\n  expected: \(pair.0)\n  actual:   \(pair.1)"
            }.joined(separator: "\n")
            throw CommandFailure(description: "\(error)\n\(detail)")
        }
    }
}
