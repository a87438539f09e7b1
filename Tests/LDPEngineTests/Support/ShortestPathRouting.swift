// An IGP stand-in for the in-memory network: hop-count shortest paths with ECMP over the links
// that are up, to every loopback and every link subnet.

import LDPCodec
@testable import LDPEngine

extension InMemoryNetwork {
    /// (neighbor, our interface, the neighbor's address on the link) over up links.
    func adjacentNodes(of name: String) -> [(node: String, interface: String, address: IPv4Address)] {
        var result: [(String, String, IPv4Address)] = []
        for link in links.values where link.isUp {
            guard let ours = link.ends.first(where: { $0.node == name }),
                  nodes[name]!.interfaceUp[ours.interface] == true else { continue }
            for end in link.ends where end.node != name && nodes[end.node]!.interfaceUp[end.interface] == true {
                result.append((end.node, ours.interface, nodes[end.node]!.interfaceAddresses[end.interface]!.address))
            }
        }
        return result.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    }

    /// Hop counts to the nearest of `owners`, over up links.
    func distances(from owners: Set<String>) -> [String: Int] {
        var distance: [String: Int] = [:]
        var frontier = owners.sorted()
        for owner in frontier { distance[owner] = 0 }
        while !frontier.isEmpty {
            var next: [String] = []
            for name in frontier {
                for neighbor in adjacentNodes(of: name) where distance[neighbor.node] == nil {
                    distance[neighbor.node] = distance[name]! + 1
                    next.append(neighbor.node)
                }
            }
            frontier = next
        }
        return distance
    }

    /// Every destination: loopbacks (owned by their node) and subnets of up links.
    func destinations() -> [(prefix: IPPrefix, owners: Set<String>)] {
        var result: [(IPPrefix, Set<String>)] = []
        for node in nodes.values { result.append((IPPrefix(node.loopback, length: 32), [node.name])) }
        var subnets: [IPPrefix: Set<String>] = [:]
        for node in nodes.values {
            for (interface, address) in node.interfaceAddresses where node.interfaceUp[interface] == true {
                subnets[IPPrefix(address.address, length: address.prefixLength), default: []].insert(node.name)
            }
        }
        for (prefix, owners) in subnets { result.append((prefix, owners)) }
        return result.sorted { $0.0 < $1.0 }
    }

    /// The routes each running node's IGP would install now.
    func shortestPathRoutes() -> [String: [IPPrefix: Route]] {
        var tables: [String: [IPPrefix: Route]] = [:]
        for name in nodes.keys { tables[name] = [:] }
        for (prefix, owners) in destinations() {
            let distance = distances(from: owners)
            for (name, node) in nodes {
                if owners.contains(name) {
                    if prefix == IPPrefix(node.loopback, length: 32) {
                        tables[name]![prefix] = Route(prefix: prefix, nextHops: [.init(address: nil, interface: "lo")], isLocal: true)
                    } else if let interface = node.interfaceAddresses.first(where: {
                        IPPrefix($0.value.address, length: $0.value.prefixLength) == prefix
                    })?.key {
                        tables[name]![prefix] = Route(prefix: prefix, nextHops: [.init(address: nil, interface: interface)])
                    }
                    continue
                }
                guard let own = distance[name] else { continue }
                let hops = adjacentNodes(of: name).filter { distance[$0.node] == own - 1 }
                    .map { Route.NextHop(address: .v4($0.address), interface: $0.interface) }
                tables[name]![prefix] = Route(prefix: prefix, nextHops: hops.sorted())
            }
        }
        return tables
    }

    mutating func recomputeRoutes() {
        for (name, routes) in shortestPathRoutes().sorted(by: { $0.key < $1.key }) { replaceRoutes(name, with: routes) }
    }

    /// Turns on routing and installs the routes.
    mutating func enableShortestPathRouting() {
        computesRoutes = true
        recomputeRoutes()
    }

    func owner(of address: IPAddress) -> String? { nodes.values.first { $0.owns(address) }?.name }
}
