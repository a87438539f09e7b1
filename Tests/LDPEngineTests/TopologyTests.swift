import Testing
import LDPCodec
@testable import LDPEngine
import MPLSTables

/// Whole networks of engines with an IGP stand-in, converging to the LFIBs the reference predicts.
@Suite struct TopologyTests {
    /// Nodes N1...Nn with loopbacks 10.255.0.i and the given links (i, j).
    func network(nodes count: Int, links: [(Int, Int)],
                 control: LabelDistributionConfiguration.Control = .independent) -> InMemoryNetwork {
        var network = InMemoryNetwork()
        for index in 1...count {
            network.addNode("N\(index)", lsrID: "10.255.0.\(index)") { $0.labelDistribution.control = control }
        }
        for (subnet, (a, b)) in links.enumerated() { network.connect("N\(a)", "N\(b)", subnet: UInt8(subnet + 1)) }
        network.enableShortestPathRouting()
        network.startAll()
        return network
    }

    func sessionCount(_ network: InMemoryNetwork) -> Int {
        network.nodes.values.reduce(0) { total, node in
            total + node.engine.neighbors(at: network.now).filter { $0.state == .operational }.count
        }
    }

    func converge(_ network: inout InMemoryNetwork, sessions: Int, limit: EngineDuration = .seconds(120)) -> Bool {
        network.run(until: limit) { $0.sessionCount() == sessions && $0.lfibsMatchReference() && $0.everyLoopbackReachable() }
    }

    static let line = (nodes: 3, links: [(1, 2), (2, 3)])
    static let ring = (nodes: 4, links: [(1, 2), (2, 3), (3, 4), (4, 1)])
    /// Six nodes, 9 links: two paths of equal cost between several pairs (ECMP).
    static let mesh = (nodes: 6, links: [(1, 2), (1, 3), (2, 4), (3, 4), (2, 5), (3, 5), (4, 6), (5, 6), (1, 6)])

    @Test(arguments: [("line", line.nodes, line.links), ("ring", ring.nodes, ring.links), ("mesh", mesh.nodes, mesh.links)],
          [LabelDistributionConfiguration.Control.independent, .ordered])
    func convergesToTheReference(_ topology: (name: String, nodes: Int, links: [(Int, Int)]),
                                 control: LabelDistributionConfiguration.Control) {
        var network = network(nodes: topology.nodes, links: topology.links, control: control)
        #expect(converge(&network, sessions: 2 * topology.links.count), "\(topology.name)")
        for name in network.nodes.keys.sorted() {
            #expect(network.node(name).lfib == network.referenceLFIB(name), "\(topology.name) \(name)")
            // The deltas add up to the LIB's own view of its LFIB.
            #expect(network.node(name).lfib == network.node(name).engine.lfib, "\(topology.name) \(name)")
        }
        // Labeled paths are shortest paths.
        for source in network.nodes.keys.sorted() {
            for target in network.nodes.values where target.name != source {
                let path = network.walk(from: source, to: IPPrefix(target.loopback, length: 32))
                let hops = network.distances(from: [target.name])[source]
                #expect(path?.last == target.name && path.map { $0.count - 1 } == hops, "\(source) -> \(target.name): \(path ?? [])")
            }
        }
    }

    @Test func lineHasTheExpectedLabelOperations() throws {
        var network = network(nodes: 3, links: [(1, 2), (2, 3)])
        #expect(converge(&network, sessions: 4))
        let n3 = IPPrefix(v4("10.255.0.3"), length: 32)
        // N1 pushes N2's label for N3; N2 pops (N3 advertised implicit-null).
        let ftn = try #require(network.node("N1").lfib.entries[.prefix(n3)])
        #expect(ftn.nextHops.map(\.outLabels) == [[try #require(network.localLabel("N2", n3))]])
        let label = try #require(network.localLabel("N2", n3))
        #expect(network.node("N2").lfib.entries[.label(label)]?.action == .pop)
        #expect(network.localLabel("N3", n3) == ReservedLabel.implicitNull)
    }

    @Test func ringSurvivesALinkFailure() {
        var network = network(nodes: 4, links: [(1, 2), (2, 3), (3, 4), (4, 1)])
        #expect(converge(&network, sessions: 8))
        network.setLink("N1-N2", isUp: false)
        #expect(converge(&network, sessions: 6), "sessions over the failed link go, the rest reconverge")
        #expect(network.walk(from: "N1", to: IPPrefix(v4("10.255.0.2"), length: 32)) == ["N1", "N4", "N3", "N2"])
        network.setLink("N1-N2", isUp: true)
        #expect(converge(&network, sessions: 8))
        #expect(network.walk(from: "N1", to: IPPrefix(v4("10.255.0.2"), length: 32)) == ["N1", "N2"])
    }

    @Test func meshRecoversFromAPeerRestart() {
        var network = network(nodes: 6, links: TopologyTests.mesh.links)
        #expect(converge(&network, sessions: 18))
        network.restart("N4")
        network.run(for: .milliseconds(1))
        for peer in ["N2", "N3", "N6"] {
            #expect(network.sessionDowns(peer).contains { $0.contains("connection reset") }, "\(peer) lost its session")
        }
        // Its peers answer its first Hello at once, and no one waits out a backoff.
        #expect(converge(&network, sessions: 18, limit: .seconds(5)))
    }

    @Test func routeWithdrawalRemovesItsEntries() throws {
        var network = network(nodes: 3, links: [(1, 2), (2, 3)])
        let extra = IPPrefix("192.0.2.0/24")!
        network.addRoute("N3", Route(prefix: extra, nextHops: [.init(address: nil, interface: "lo")], isLocal: true))
        network.addRoute("N2", Route(prefix: extra, nextHops: [.init(address: .v4(v4("10.0.2.2")), interface: "to-N3")]))
        network.addRoute("N1", Route(prefix: extra, nextHops: [.init(address: .v4(v4("10.0.1.2")), interface: "to-N2")]))
        #expect(converge(&network, sessions: 4))
        #expect(network.node("N1").lfib.entries[.prefix(extra)] != nil)
        for name in ["N1", "N2", "N3"] { network.removeRoute(name, extra) }
        network.run(for: .seconds(1))
        #expect(network.lfibsMatchReference())
        #expect(network.node("N1").lfib.entries.values.allSatisfy { $0.fec != extra })
        #expect(network.node("N2").lfib.entries.values.allSatisfy { $0.fec != extra })
    }

    @Test func targetedSessionWithoutALink() {
        var network = InMemoryNetwork()
        network.addNode("A", lsrID: "1.1.1.1") { $0.targetedNeighbors = [TargetedNeighborConfiguration(address: v4("2.2.2.2"))] }
        network.addNode("B", lsrID: "2.2.2.2") { $0.targetedNeighbors = [TargetedNeighborConfiguration(address: v4("1.1.1.1"))] }
        network.startAll()
        #expect(network.run(until: .seconds(30)) { $0.isOperational("A", "B") })
        let neighbor = network.node("A").engine.neighbors(at: network.now).first
        #expect(neighbor?.gtsm == false, "targeted sessions are not single-hop: no GTSM")
        #expect(network.node("A").engine.adjacencies(at: network.now).first?.holdTime == 45)
        network.run(for: .seconds(600))
        #expect(network.isOperational("A", "B"))
    }
}

extension InMemoryNetwork {
    func sessionCount() -> Int {
        nodes.values.reduce(0) { total, node in
            total + node.engine.neighbors(at: now).filter { $0.state == .operational }.count
        }
    }

    func everyLoopbackReachable() -> Bool {
        for source in nodes.values where source.isRunning {
            for target in nodes.values where target.name != source.name {
                guard distances(from: [target.name])[source.name] != nil else { continue }
                guard walk(from: source.name, to: IPPrefix(target.loopback, length: 32))?.last == target.name else { return false }
            }
        }
        return true
    }
}
