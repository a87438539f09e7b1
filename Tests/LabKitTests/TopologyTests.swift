import Foundation
import LDPCodec
import Testing
@testable import LabKit

@Suite struct LabTopologyTests {
    static var topologiesDirectory: String {
        // Tests run from the package root.
        FileManager.default.currentDirectoryPath + "/topologies"
    }

    @Test(arguments: ["line2", "line3", "ring4", "core6", "frr-mix"])
    func shippedTopologiesAreValid(_ name: String) throws {
        let topology = try LabTopology.load(path: "\(Self.topologiesDirectory)/\(name).yaml")
        #expect(topology.name == name)
        #expect(!topology.routers.isEmpty)
        // Every router reaches every other router's loopback.
        for router in topology.routers {
            let destinations = Set(topology.routes(of: router.name).map(\.prefix))
            for other in topology.routers where other.name != router.name {
                #expect(destinations.contains(IPPrefix(other.loopback!, length: 32)), "\(router.name) -> \(other.name)")
            }
        }
        // CEs only have a default route; LSRs carry no customer routes (BGP-free core).
        for ce in topology.customerEdges { #expect(topology.routes(of: ce.name).map(\.prefix) == [IPPrefix("0.0.0.0/0")!]) }
        for lsr in topology.routers where lsr.role == .lsr {
            #expect(topology.routes(of: lsr.name).allSatisfy { !$0.prefix.description.hasPrefix("192.168.") })
        }
    }

    @Test func ringHasEqualCostPaths() throws {
        let ring = try LabTopology.load(path: "\(Self.topologiesDirectory)/ring4.yaml")
        let toPE2 = ring.routes(of: "pe1").first { $0.prefix == IPPrefix("10.255.0.4/32") }
        #expect(toPE2?.nextHops.map(\.neighbor) == ["p1", "p2"])
        #expect(toPE2?.ipArguments.contains("nexthop") == true)
        // With one link down, one path is left.
        let broken = ring.routes(of: "pe1", excluding: ["pe1-p1"]).first { $0.prefix == IPPrefix("10.255.0.4/32") }
        #expect(broken?.nextHops.map(\.neighbor) == ["p2"])
    }

    @Test func linkUpBringsLDPsActiveEndUpFirst() throws {
        let line = try LabTopology.load(path: "\(Self.topologiesDirectory)/line3.yaml")
        // p1 (10.255.0.2) - pe2 (10.255.0.3): pe2 has the higher transport address and connects.
        let core = try line.link(named: "p1-pe2")
        #expect(Lab.linkUpOrder(core, in: line).map(\.description) == ["pe2:eth0", "p1:eth1"])
        let other = try line.link(named: "pe1-p1")
        #expect(Lab.linkUpOrder(other, in: line).map(\.description) == ["p1:eth0", "pe1:eth0"])
        // A CE has no loopback: its router's end comes first.
        let customer = try line.link(named: "ce1-pe1")
        #expect(Lab.linkUpOrder(customer, in: line).map(\.description) == ["pe1:eth1", "ce1:eth0"])
    }

    @Test func lsrdConfigurationListsCoreInterfacesOnly() throws {
        let line = try LabTopology.load(path: "\(Self.topologiesDirectory)/line3.yaml")
        let text = line.lsrdConfiguration(of: "pe1", controlSocket: "/run/x.sock")
        #expect(text.contains("router-id: 10.255.0.1"))
        #expect(text.contains("name: eth0"))
        #expect(!text.contains("name: eth1"), "the CE link is not an LDP interface")
        #expect(text.contains("userspace:\n  customer-interfaces: [eth1]\n"), "the engine takes the CE's IPv4 off eth1")
        #expect(!line.lsrdConfiguration(of: "p1", controlSocket: "/run/x.sock").contains("customer-interfaces"))
        #expect(!line.lsrdConfiguration(of: "pe1", controlSocket: "/run/x.sock", dataplane: "kernel").contains("customer-interfaces"))
        #expect(line.graphviz().contains("\"pe1\" -- \"p1\""))
    }

    @Test func lersRouteRemoteCustomerSubnetsThroughTheFarLERsLoopback() throws {
        let line = try LabTopology.load(path: "\(Self.topologiesDirectory)/line3.yaml")
        let pe1 = line.lsrdConfiguration(of: "pe1", controlSocket: "/run/x.sock")
        #expect(pe1.contains("static-routes:\n  - { prefix: 192.168.2.0/24, via: 10.255.0.3 }\n"))
        #expect(!pe1.contains("192.168.1.0/24"), "its own CE subnet is connected")
        let pe2 = line.lsrdConfiguration(of: "pe2", controlSocket: "/run/x.sock")
        #expect(pe2.contains("  - { prefix: 192.168.1.0/24, via: 10.255.0.1 }"))
        #expect(!line.lsrdConfiguration(of: "p1", controlSocket: "/run/x.sock").contains("static-routes"), "LSRs carry no customer routes")
    }

    @Test func igpKeyChoosesTheRoutingAndTheCommandLineWins() throws {
        let links = "links:\n  - { a: a:eth0, b: b:eth0, subnet: 10.0.0.0/24 }\n"
        let plain = try LabTopology.parse(Self.base + links, file: "t.yaml")
        #expect(plain.igp == .static)
        let ospf = try LabTopology.parse("igp: ospf\n" + Self.base + links, file: "t.yaml")
        #expect(ospf.igp == .ospf)
        #expect(try LabTopology.parse("igp: static\n" + Self.base + links, file: "t.yaml").igp == .static)
        #expect(Lab(prefix: "t", topology: ospf, binaries: "/b").igp == .ospf)
        #expect(Lab(prefix: "t", topology: ospf, binaries: "/b", igp: .static).igp == .static)
        #expect(Lab(prefix: "t", topology: plain, binaries: "/b", igp: .ospf).igp == .ospf)
        for bad in ["isis", "OSPF", "[ospf]"] {
            #expect {
                _ = try LabTopology.parse("igp: \(bad)\n" + Self.base + links, file: "t.yaml")
            } throws: { error in
                "\(error)".hasPrefix("t.yaml: igp: must be static or ospf")
            }
        }
    }

    @Test func ospfConfigurationKeepsCustomerRoutesOutOfTheCore() throws {
        let ring = try LabTopology.load(path: "\(Self.topologiesDirectory)/ring4.yaml")
        let p1 = ring.ospfConfiguration(of: "p1")
        #expect(p1.contains("ospf router-id 10.255.0.2"))
        #expect(p1.contains("ip prefix-list customers seq 5 permit 192.168.1.0/24\nip prefix-list customers seq 10 permit 192.168.2.0/24\n"))
        #expect(p1.contains("ip protocol ospf route-map core"))
        #expect(p1.contains("interface eth0\n ip ospf area 0\n ip ospf cost 10\n ip ospf network point-to-point\n ip ospf hello-interval 1\n ip ospf dead-interval 4\n"))
        // An LER installs the other LERs' customer subnets, as the static routes do; its own is passive.
        let pe1 = ring.ospfConfiguration(of: "pe1")
        #expect(!pe1.contains("route-map"))
        #expect(pe1.contains("interface eth9\n ip ospf area 0\n ip ospf cost 10\n ip ospf passive\n!"))
        #expect(pe1.contains("interface lo\n ip ospf area 0\n ip ospf passive\n!"))
        #expect(!pe1.contains("exit"), "ldpd, reading the same file, would leave configuration mode at an exit")
        #expect(ring.ospfConfiguration(of: "ce1").isEmpty)
    }

    struct BadTopology: Sendable, CustomTestStringConvertible {
        var yaml: String
        var expected: String
        var testDescription: String { expected }
    }

    static let base = "nodes:\n  a: { role: ler, loopback: 1.1.1.1 }\n  b: { role: ler, loopback: 2.2.2.2 }\n"

    static let bad: [BadTopology] = [
        .init(yaml: "nodes: [\n", expected: "t.yaml: not valid YAML"),
        .init(yaml: base + "links:\n  - { a: a:eth0, b: c:eth0, subnet: 10.0.0.0/24 }\n", expected: "t.yaml: links[0]: unknown node 'c'"),
        .init(yaml: base + "links:\n  - { a: a:eth0, b: b:eth0, subnet: 10.0.0.0/24 }\n  - { a: a:eth0, b: b:eth1, subnet: 10.0.1.0/24 }\n",
              expected: "t.yaml: links[1]: interface a:eth0 is used twice"),
        .init(yaml: base + "links:\n  - { a: a:eth0, b: b:eth0, subnet: 10.0.0.0/24 }\n  - { a: a:eth1, b: b:eth1, subnet: 10.0.0.0/24 }\n",
              expected: "t.yaml: links[1]: subnet 10.0.0.0/24 is also links[0]'s"),
        .init(yaml: "nodes:\n  a: { role: ler, loopback: 1.1.1.1 }\n  b: { role: lsr, loopback: 1.1.1.1 }\nlinks: []\n",
              expected: "loopback 1.1.1.1 is also"),
        .init(yaml: "nodes:\n  a: { role: router, loopback: 1.1.1.1 }\nlinks: []\n", expected: "t.yaml: nodes.a: role must be one of ler, lsr, ce"),
        .init(yaml: "nodes:\n  a: { role: lsr }\nlinks: []\n", expected: "nodes.a: a router needs a loopback"),
        .init(yaml: base + "links:\n  - { a: a:eth0, b: b:eth0, subnet: 10.0.0.0/16 }\n", expected: "links[0]: subnet 10.0.0.0/16 must be a /24 to /30"),
        .init(yaml: base + "links:\n  - { a: a:eth0, b: b:eth0, net: 10.0.0.0/24 }\n", expected: "links[0]: unknown key 'net'"),
        .init(yaml: base + "extra: 1\nlinks: []\n", expected: "t.yaml: extra: unknown key"),
        .init(yaml: base + "  c: { role: ce }\nlinks:\n  - { a: c:eth0, b: a:eth1, subnet: 10.9.0.0/24 }\n  - { a: c:eth1, b: b:eth1, subnet: 10.8.0.0/24 }\n",
              expected: "nodes.c: a customer edge has exactly one link"),
        .init(yaml: base + "links:\n  - { a: a:eth0, b: a:eth1, subnet: 10.0.0.0/24 }\n", expected: "links[0]: a link joins two different nodes"),
    ]

    @Test(arguments: bad)
    func badTopologiesNameTheFileAndEntry(_ bad: BadTopology) {
        #expect {
            _ = try LabTopology.parse(bad.yaml, file: "t.yaml")
        } throws: { error in
            let text = "\(error)"
            if !text.contains(bad.expected) { print("got: \(text)") }
            return text.contains(bad.expected)
        }
    }
}
