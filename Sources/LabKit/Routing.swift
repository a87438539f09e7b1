// Static routes for a lab, as an IGP would compute them: shortest paths over the core links,
// every equal-cost next hop kept (ECMP). Core routers carry no customer routes (a BGP-free
// core); each LER reaches the other LERs' customer networks through them. With `igp: ospf`,
// FRR's ospfd computes the same routes from the configuration written here.

import LDPCodec

public struct StaticRoute: Equatable, Hashable, Sendable, CustomStringConvertible {
    public struct NextHop: Equatable, Hashable, Sendable {
        public var address: IPv4Address
        public var interface: String
        public var neighbor: String
    }
    public var prefix: IPPrefix
    public var nextHops: [NextHop]

    public var description: String {
        "\(prefix) " + nextHops.map { "via \($0.address) dev \($0.interface)" }.joined(separator: ", ")
    }

    /// The `ip route replace` arguments for this route.
    public var ipArguments: [String] {
        var arguments = ["route", "replace", prefix.description]
        if nextHops.count == 1 {
            arguments += ["via", nextHops[0].address.description, "dev", nextHops[0].interface]
        } else {
            for hop in nextHops { arguments += ["nexthop", "via", hop.address.description, "dev", hop.interface] }
        }
        return arguments
    }
}

extension LabTopology {
    /// Whether `down` (link names, which take every link between two nodes, or identifiers)
    /// takes `link` out of service.
    public func isDown(_ link: Link, in down: Set<String>) -> Bool {
        down.contains(link.name) || down.contains(link.identifier)
    }

    /// Links that are up: a lab may take some down.
    public func coreAdjacency(excluding down: Set<String> = []) -> [String: [(neighbor: String, link: Link)]] {
        var adjacency: [String: [(neighbor: String, link: Link)]] = [:]
        for link in links where isCoreLink(link) && !isDown(link, in: down) {
            adjacency[link.a.node, default: []].append((link.b.node, link))
            adjacency[link.b.node, default: []].append((link.a.node, link))
        }
        return adjacency
    }

    /// Hop counts from `source` over the core.
    public func distances(from source: String, excluding down: Set<String> = []) -> [String: Int] {
        let adjacency = coreAdjacency(excluding: down)
        var distance = [source: 0]
        var frontier = [source]
        while !frontier.isEmpty {
            var next: [String] = []
            for node in frontier {
                for (neighbor, _) in adjacency[node] ?? [] where distance[neighbor] == nil {
                    distance[neighbor] = distance[node]! + 1
                    next.append(neighbor)
                }
            }
            frontier = next
        }
        return distance
    }

    /// Every equal-cost next hop from `router` toward the nearest of `targets`.
    func nextHops(from router: String, toward targets: Set<String>, excluding down: Set<String>) -> [StaticRoute.NextHop] {
        // One breadth-first search per target, not one per question asked of it.
        let fromTargets = targets.map { distances(from: $0, excluding: down) }
        let distance = { (node: String) -> Int? in fromTargets.compactMap { $0[node] }.min() }
        guard let own = distance(router), own > 0 else { return [] }
        return (coreAdjacency(excluding: down)[router] ?? []).compactMap { neighbor, link in
            guard distance(neighbor) == own - 1, let address = link.address(of: neighbor),
                  let interface = link.endpoint(of: router)?.interface else { return nil }
            return StaticRoute.NextHop(address: address, interface: interface, neighbor: neighbor)
        }.sorted { ($0.interface, $0.address) < ($1.interface, $1.address) }
    }

    /// The static routes of `node`, with the links named in `down` out of service.
    public func routes(of node: String, excluding down: Set<String> = []) -> [StaticRoute] {
        guard let this = self.node(node) else { return [] }
        if this.role == .ce {
            guard let (router, link) = attachment(of: node), let gateway = link.address(of: router),
                  let interface = link.endpoint(of: node)?.interface else { return [] }
            return [StaticRoute(prefix: IPPrefix(.any, length: 0),
                                nextHops: [.init(address: gateway, interface: interface, neighbor: router)])]
        }
        var destinations: [(IPPrefix, Set<String>)] = []
        for router in routers where router.name != node {
            destinations.append((IPPrefix(router.loopback!, length: 32), [router.name]))
        }
        for link in links where isCoreLink(link) && link.a.node != node && link.b.node != node && !isDown(link, in: down) {
            destinations.append((link.subnet, [link.a.node, link.b.node]))
        }
        if this.role == .ler {
            for ce in customerEdges {
                guard let (router, link) = attachment(of: ce.name), router != node else { continue }
                destinations.append((link.subnet, [router]))
            }
        }
        return destinations.compactMap { prefix, owners in
            let hops = nextHops(from: node, toward: owners, excluding: down)
            return hops.isEmpty ? nil : StaticRoute(prefix: prefix, nextHops: hops)
        }.sorted { $0.prefix < $1.prefix }
    }

    /// zebra's and ospfd's configuration of a router (igp ospf): area 0 point-to-point on the
    /// core links, with 1 s hellos and a 4 s dead interval; the loopback and the customer subnets
    /// passive. Every link costs the same, so OSPF's paths are the static mode's (hop counts,
    /// ECMP). An LSR keeps the customer subnets out of its kernel table, as in the static mode
    /// (a BGP-free core): lsrd learns what the kernel has.
    public func ospfConfiguration(of node: String) -> String {
        guard let router = self.node(node), let loopback = router.loopback else { return "" }
        // Plain multipath routes, not kernel nexthop objects: when a link goes down the kernel
        // drops its next hop from a shared object, and zebra 8.4 never puts it back.
        var lines = ["no zebra nexthop kernel enable", "!"]
        let customers = customerEdges.compactMap { attachment(of: $0.name)?.link.subnet }.sorted()
        if router.role == .lsr && !customers.isEmpty {
            for (index, subnet) in customers.enumerated() {
                lines.append("ip prefix-list customers seq \((index + 1) * 5) permit \(subnet)")
            }
            lines += ["route-map core deny 10", " match ip address prefix-list customers", "!",
                      "route-map core permit 20", "!", "ip protocol ospf route-map core", "!"]
        }
        // No `exit` after a block: ldpd reads the same file, and an `exit` after a block it
        // does not know would leave configuration mode, and the rest of the file unread.
        lines += ["interface lo", " ip ospf area 0", " ip ospf passive", "!"]
        for link in links.sorted(by: { $0.identifier < $1.identifier }) {
            guard let end = link.endpoint(of: node) else { continue }
            lines += ["interface \(end.interface)", " ip ospf area 0", " ip ospf cost 10"]
            if isCoreLink(link) {
                // Fast enough that `link down` reconverges well within LDP's hold time.
                lines += [" ip ospf network point-to-point", " ip ospf hello-interval 1", " ip ospf dead-interval 4",
                          " ip ospf retransmit-interval 1"]
            } else {
                lines.append(" ip ospf passive")
            }
            lines.append("!")
        }
        // ospfd's defaults hold a new LSA back for up to 5 s and drop one that arrives within 1 s
        // of the last (a retransmission then brings it): seconds of convergence in a lab.
        lines += ["!", "router ospf", " ospf router-id \(loopback)", " timers throttle spf 0 50 500",
                  " timers throttle lsa all 100", " timers lsa min-arrival 0", "!"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The LDP interfaces of a router: its core links.
    public func ldpInterfaces(of node: String) -> [String] {
        links.filter { isCoreLink($0) }.compactMap { $0.endpoint(of: node)?.interface }.sorted()
    }

    /// A router's interfaces toward customer hosts.
    public func customerInterfaces(of node: String) -> [String] {
        links.filter { !isCoreLink($0) }.compactMap { $0.endpoint(of: node)?.interface }.sorted()
    }

    /// An LER's routes to every remote CE subnet through the LSP to the owning LER's loopback
    /// (lsrd's `static-routes`): the LSRs in between have no route to customer subnets.
    public func ldpStaticRoutes(of node: String) -> [(prefix: IPPrefix, via: IPv4Address)] {
        guard self.node(node)?.role == .ler else { return [] }
        return customerEdges.compactMap { ce -> (prefix: IPPrefix, via: IPv4Address)? in
            guard let (router, link) = attachment(of: ce.name), router != node,
                  let owner = self.node(router), owner.role == .ler, let loopback = owner.loopback else { return nil }
            return (link.subnet, loopback)
        }.sorted { $0.prefix < $1.prefix }
    }

    /// The lsrd configuration of a router.
    public func lsrdConfiguration(of node: String, controlSocket: String, helloInterval: Int = 1, holdTime: Int = 3,
                                  dataplane: String? = nil) -> String {
        guard let router = self.node(node), let loopback = router.loopback else { return "" }
        var lines = ["router-id: \(loopback)"]
        if let dataplane { lines.append("dataplane: \(dataplane)") }
        lines.append("interfaces:")
        for interface in ldpInterfaces(of: node) {
            lines.append("  - { name: \(interface), hello-interval: \(helloInterval), hold-time: \(holdTime) }")
        }
        let remote = ldpStaticRoutes(of: node)
        if !remote.isEmpty {
            lines.append("static-routes:")
            for (prefix, via) in remote { lines.append("  - { prefix: \(prefix), via: \(via) }") }
        }
        // The userspace engine pushes customers' IPv4 straight off the CE-facing interfaces.
        let customerInterfaces = customerInterfaces(of: node)
        if !customerInterfaces.isEmpty, dataplane != "kernel", dataplane != "both",
           !(router.lsrdSettings ?? "").contains("userspace:") {
            lines.append("userspace:")
            lines.append("  customer-interfaces: [\(customerInterfaces.joined(separator: ", "))]")
        }
        lines.append("control-socket: \(controlSocket)")
        if let settings = router.lsrdSettings { lines.append(settings) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A Graphviz picture: routers and CEs, links with their subnets and interfaces, and, when
    /// given, each link's labels (text per link name).
    public func graphviz(linkLabels: [String: String] = [:]) -> String {
        var lines = ["graph \"\(name)\" {", "  layout=neato; overlap=false; splines=true;",
                     "  node [fontname=\"Helvetica\" fontsize=10]; edge [fontname=\"Helvetica\" fontsize=8];"]
        for node in nodes {
            let shape = node.role == .ce ? "box" : (node.role == .ler ? "doublecircle" : "circle")
            let color = node.software == .frr ? "lightblue" : (node.role == .ce ? "white" : "lightyellow")
            let detail = node.loopback.map { "\\n\($0)" } ?? ""
            let software = node.software == .frr && node.role != .ce ? "\\n(FRR)" : ""
            lines.append("  \"\(node.name)\" [shape=\(shape) style=filled fillcolor=\(color) label=\"\(node.name)\(detail)\(software)\"];")
        }
        for link in links {
            var label = "\(link.subnet)\\n\(link.a.interface) - \(link.b.interface)"
            if let extra = linkLabels[link.name] { label += "\\n\(extra)" }
            let style = isCoreLink(link) ? "bold" : "dashed"
            lines.append("  \"\(link.a.node)\" -- \"\(link.b.node)\" [label=\"\(label)\" style=\(style)];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
