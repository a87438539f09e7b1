// Lab topologies: routers and customer edges joined by point-to-point links, read from YAML
// files in topologies/, checked, and turned into addresses, static routes (shortest paths,
// with ECMP where costs tie), lsrd configurations and a Graphviz picture.

import Foundation
import LDPCodec
import Yams

public struct LabTopology: Equatable, Sendable {
    public enum Role: String, Sendable, CaseIterable {
        /// A label edge router: LDP toward the core, customers on other links.
        case ler
        /// A core label-switching router.
        case lsr
        /// A customer edge host.
        case ce
    }

    public enum Software: String, Sendable, CaseIterable, Codable {
        case lsrd, frr
    }

    /// How the routers learn their IP routes.
    public enum IGP: String, Sendable, CaseIterable {
        /// Shortest paths computed from the topology, installed as static routes.
        case `static`
        /// FRR's zebra and ospfd on every router.
        case ospf
    }

    public struct Node: Equatable, Sendable {
        public var name: String
        public var role: Role
        public var loopback: IPv4Address?
        public var software: Software
        /// Extra lines for the node's lsrd configuration (YAML), from the topology file.
        public var lsrdSettings: String?
        public var isRouter: Bool { role != .ce }
    }

    public struct Endpoint: Equatable, Hashable, Sendable, CustomStringConvertible {
        public var node: String
        public var interface: String
        public var description: String { "\(node):\(interface)" }
    }

    public struct Link: Equatable, Sendable {
        public var a: Endpoint
        public var b: Endpoint
        /// A /24 to /30; `a` gets the first host address, `b` the second.
        public var subnet: IPPrefix
        public var addressA: IPv4Address { host(1) }
        public var addressB: IPv4Address { host(2) }
        /// "A-B" by node names: two links between the same nodes share it (see `identifier`).
        public var name: String { "\(a.node)-\(b.node)" }
        /// Unique in a topology: "A:IF-B:IF".
        public var identifier: String { "\(a)-\(b)" }

        func host(_ index: UInt32) -> IPv4Address {
            guard case .v4(let network) = subnet.address else { return .any }
            return IPv4Address(rawValue: network.rawValue + index)
        }

        public func address(of node: String) -> IPv4Address? {
            node == a.node ? addressA : node == b.node ? addressB : nil
        }

        public func endpoint(of node: String) -> Endpoint? { node == a.node ? a : node == b.node ? b : nil }
        public func other(than node: String) -> Endpoint? { node == a.node ? b : node == b.node ? a : nil }
        public var isCore: Bool { true }
    }

    public var name: String
    public var nodes: [Node]
    public var links: [Link]
    /// The file's `igp` (the command line may choose another).
    public var igp: IGP = .static

    public func node(_ name: String) -> Node? { nodes.first { $0.name == name } }

    /// A link by its name ("A-B" or "B-A", if only one link joins A and B), its identifier
    /// ("A:IF-B:IF") or one of its ends ("A:IF").
    public func link(named text: String) throws -> Link {
        let matches = links.filter { link in
            [link.name, "\(link.b.node)-\(link.a.node)", link.identifier, link.a.description, link.b.description].contains(text)
        }
        guard !matches.isEmpty else {
            throw LabError("no link '\(text)' in \(name); links: \(links.map(\.name).joined(separator: ", "))")
        }
        guard matches.count == 1 else {
            throw LabError("'\(text)' names \(matches.count) links (\(matches.map(\.identifier).joined(separator: ", "))): name one by an end, NODE:IF")
        }
        return matches[0]
    }
    public var routers: [Node] { nodes.filter(\.isRouter) }
    public var customerEdges: [Node] { nodes.filter { $0.role == .ce } }

    /// A link between two routers carries LDP; a link to a CE does not.
    public func isCoreLink(_ link: Link) -> Bool {
        node(link.a.node)?.isRouter == true && node(link.b.node)?.isRouter == true
    }

    /// The router a customer edge hangs off, with the link.
    public func attachment(of ce: String) -> (router: String, link: Link)? {
        for link in links where link.a.node == ce || link.b.node == ce {
            if let other = link.other(than: ce), node(other.node)?.isRouter == true { return (other.node, link) }
        }
        return nil
    }
}

/// A topology file error, written "FILE: ENTRY: PROBLEM".
public struct TopologyError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var entry: String?
    public var problem: String
    public var description: String { "\(file): \(entry.map { "\($0): " } ?? "")\(problem)" }
}

extension LabTopology {
    public static func load(path: String) throws -> LabTopology {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TopologyError(file: path, entry: nil, problem: "cannot read the file")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> LabTopology {
        func fail(_ entry: String?, _ problem: String) -> TopologyError { TopologyError(file: file, entry: entry, problem: problem) }
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw fail(nil, "not valid YAML: \(error)")
        }
        guard let mapping = root?.mapping else { throw fail(nil, "expected keys name, nodes and links") }
        for key in mapping.keys {
            guard let name = key.string, ["name", "nodes", "links", "igp"].contains(name) else {
                throw fail(key.string, "unknown key (known keys: name, nodes, links, igp)")
            }
        }
        var igp = IGP.static
        if let node = mapping["igp"] {
            guard let text = node.string, let chosen = IGP(rawValue: text) else {
                throw fail("igp", "must be static or ospf, not '\(node.string ?? "?")'")
            }
            igp = chosen
        }
        let name = mapping["name"]?.string ?? ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        guard let nodeMapping = mapping["nodes"]?.mapping, !nodeMapping.isEmpty else { throw fail("nodes", "missing or empty") }

        var nodes: [LabTopology.Node] = []
        var loopbacks: [IPv4Address: String] = [:]
        for (key, value) in nodeMapping {
            guard let nodeName = key.string, !nodeName.isEmpty,
                  nodeName.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }), nodeName.count <= 8 else {
                throw fail("nodes.\(key.string ?? "?")", "node names are up to 8 letters, digits or '-'")
            }
            let entry = "nodes.\(nodeName)"
            guard let fields = value.mapping else { throw fail(entry, "expected a mapping with role (and loopback)") }
            for field in fields.keys {
                guard let fieldName = field.string, ["role", "loopback", "software", "lsrd"].contains(fieldName) else {
                    throw fail(entry, "unknown key '\(field.string ?? "?")' (known keys: role, loopback, software, lsrd)")
                }
            }
            guard let roleText = fields["role"]?.string, let role = Role(rawValue: roleText) else {
                throw fail(entry, "role must be one of ler, lsr, ce")
            }
            var loopback: IPv4Address?
            if let text = fields["loopback"]?.string {
                guard let address = IPv4Address(text) else { throw fail(entry, "loopback '\(text)' is not an IPv4 address") }
                if let owner = loopbacks[address] { throw fail(entry, "loopback \(address) is also \(owner)'s") }
                loopbacks[address] = nodeName
                loopback = address
            }
            if role != .ce && loopback == nil { throw fail(entry, "a router needs a loopback (its LSR ID)") }
            if role == .ce && loopback != nil { throw fail(entry, "a customer edge has no loopback") }
            var software = Software.lsrd
            if let text = fields["software"]?.string {
                guard let chosen = Software(rawValue: text) else { throw fail(entry, "software must be lsrd or frr") }
                software = chosen
            }
            if role == .ce && fields["software"] != nil { throw fail(entry, "a customer edge runs no router software") }
            var settings: String?
            if let lsrd = fields["lsrd"] {
                guard software == .lsrd, role != .ce else { throw fail(entry, "'lsrd' settings are for lsrd routers") }
                settings = try Yams.serialize(node: lsrd)
            }
            nodes.append(LabTopology.Node(name: nodeName, role: role, loopback: loopback, software: software, lsrdSettings: settings))
        }

        guard let linkList = mapping["links"]?.sequence else { throw fail("links", "missing or not a list") }
        var links: [LabTopology.Link] = []
        var usedInterfaces = Set<Endpoint>()
        var usedSubnets: [IPPrefix: Int] = [:]
        for (index, item) in linkList.enumerated() {
            let entry = "links[\(index)]"
            guard let fields = item.mapping else { throw fail(entry, "expected { a: NODE:IF, b: NODE:IF, subnet: PREFIX }") }
            for field in fields.keys where !["a", "b", "subnet"].contains(field.string ?? "") {
                throw fail(entry, "unknown key '\(field.string ?? "?")' (known keys: a, b, subnet)")
            }
            func endpoint(_ key: String) throws -> Endpoint {
                guard let text = fields[key]?.string else { throw fail(entry, "missing '\(key)'") }
                let parts = text.split(separator: ":").map(String.init)
                guard parts.count == 2, !parts[1].isEmpty, parts[1].count < 16 else {
                    throw fail(entry, "'\(text)' is not NODE:INTERFACE")
                }
                guard nodes.contains(where: { $0.name == parts[0] }) else { throw fail(entry, "unknown node '\(parts[0])'") }
                let endpoint = Endpoint(node: parts[0], interface: parts[1])
                guard usedInterfaces.insert(endpoint).inserted else { throw fail(entry, "interface \(endpoint) is used twice") }
                return endpoint
            }
            let a = try endpoint("a")
            let b = try endpoint("b")
            guard a.node != b.node else { throw fail(entry, "a link joins two different nodes") }
            guard let subnetText = fields["subnet"]?.string, let subnet = IPPrefix(subnetText), subnet.family == .ipv4,
                  subnetText.contains("/") else {
                throw fail(entry, "subnet must be an IPv4 prefix like 10.0.1.0/24")
            }
            guard (24...30).contains(subnet.length) else { throw fail(entry, "subnet \(subnet) must be a /24 to /30") }
            if let other = usedSubnets[subnet] { throw fail(entry, "subnet \(subnet) is also links[\(other)]'s") }
            for (existing, other) in usedSubnets where existing.contains(subnet.address) || subnet.contains(existing.address) {
                throw fail(entry, "subnet \(subnet) overlaps links[\(other)] (\(existing))")
            }
            usedSubnets[subnet] = index
            let link = LabTopology.Link(a: a, b: b, subnet: subnet)
            for loopback in loopbacks.keys where subnet.contains(.v4(loopback)) {
                throw fail(entry, "subnet \(subnet) contains the loopback \(loopback)")
            }
            links.append(link)
        }
        let topology = LabTopology(name: name, nodes: nodes.sorted { $0.name < $1.name }, links: links, igp: igp)
        for ce in topology.customerEdges {
            let attachments = links.filter { $0.a.node == ce.name || $0.b.node == ce.name }
            guard attachments.count == 1, topology.attachment(of: ce.name) != nil else {
                throw fail("nodes.\(ce.name)", "a customer edge has exactly one link, to a router")
            }
            if topology.node(topology.attachment(of: ce.name)!.router)?.role != .ler {
                throw fail("nodes.\(ce.name)", "a customer edge attaches to an ler")
            }
        }
        return topology
    }
}
