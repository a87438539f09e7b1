import LDPCodec
import Logging
import MPLSForwarding
import MPLSTables
import Testing
@testable import LSRDaemon

/// Static routes in the LFIB every dataplane gets (LayeredLFIB), as the kernel installer turns
/// them into routes: customer prefixes pushed with their loopback's labels.
@Suite struct StaticRouteLayerTests {
    let indexes: [String: Int32] = ["eth0": 2, "eth1": 3]
    let customer = IPPrefix("172.16.3.0/24")!
    let loopback = IPPrefix("3.3.3.3/32")!
    var routes: [StaticRoute] { [StaticRoute(prefix: customer, via: IPv4Address("3.3.3.3")!)] }

    func ftn(_ prefix: IPPrefix, _ labels: [UInt32], via address: String = "10.0.0.2", _ interface: String = "eth0") -> LFIBEntry {
        LFIBEntry(key: .prefix(prefix), fec: prefix,
                  nextHops: [LFIBNextHop(address: .v4(IPv4Address(address)!), interface: interface, outLabels: labels)])
    }

    func requests(_ changes: [LFIBChange]) throws -> [KernelRouteRequest] {
        try changes.map { try KernelRouteRequest.make(for: $0, interfaceIndex: { indexes[$0] }) }
    }

    func layers() -> LayeredLFIB {
        var layers = LayeredLFIB()
        #expect(layers.setStaticRoutes(routes).isEmpty, "no LSP to the loopback yet: nothing to install")
        return layers
    }

    @Test func aCustomerPrefixIsPushedWithItsLoopbacksLabel() throws {
        var layers = layers()
        let changes = layers.applyLDP([.replace(ftn(loopback, [200]))])
        let made = try requests(changes)
        #expect(made.map(\.description) == [
            "ipv4 3.3.3.3/32 table 193: via 10.0.0.2 dev 2 encap mpls 200",
            "ipv4 172.16.3.0/24 table 193: via 10.0.0.2 dev 2 encap mpls 200",
        ])
        #expect(made[1].protocolNumber == Daemon.routeProtocol)
        #expect(made[1].destination == [172, 16, 3, 0])
        #expect(made[1].destinationLength == 24)
        #expect(made[1].nextHops[0].encapsulation == KernelRouteRequest.labelStack([200]))
        #expect(layers.effective.entries[.prefix(customer)]?.nextHops == ftn(loopback, [200]).nextHops)
        #expect(layers.ldp.entries[.prefix(customer)] == nil, "LDP's own layer is untouched")
    }

    @Test func itFollowsTheLSPAndLeavesWithIt() throws {
        var layers = layers()
        _ = layers.applyLDP([.replace(ftn(loopback, [200]))])
        let moved = layers.applyLDP([.replace(ftn(loopback, [300], via: "10.0.1.2", "eth1"))])
        #expect(try requests(moved).map(\.description) == [
            "ipv4 3.3.3.3/32 table 193: via 10.0.1.2 dev 3 encap mpls 300",
            "ipv4 172.16.3.0/24 table 193: via 10.0.1.2 dev 3 encap mpls 300",
        ])
        let gone = layers.applyLDP([.remove(.prefix(loopback))])
        #expect(gone == [.remove(.prefix(loopback)), .remove(.prefix(customer))])
        let removal = try requests(gone)[1]
        #expect(removal.operation == .delete)
        #expect(removal.table == 193)
        #expect(layers.effective.entries.isEmpty)
    }

    @Test func implicitNullMakesAPlainRouteViaTheNextHop() throws {
        var layers = layers()
        let changes = layers.applyLDP([.replace(ftn(loopback, [ReservedLabel.implicitNull]))])
        #expect(try requests(changes).map(\.description) == [
            "ipv4 3.3.3.3/32 table 193: via 10.0.0.2 dev 2",
            "ipv4 172.16.3.0/24 table 193: via 10.0.0.2 dev 2",
        ])
    }

    @Test func unrelatedChangesLeaveItAlone() {
        var layers = layers()
        _ = layers.applyLDP([.replace(ftn(loopback, [200]))])
        let other = ftn(IPPrefix("4.4.4.4/32")!, [400])
        #expect(layers.applyLDP([.replace(other)]) == [.replace(other)])
        #expect(layers.applyLDP([.remove(other.key)]) == [.remove(other.key)])
    }

    @Test func aPrefixWithALabelOfItsOwnKeepsIt() {
        var layers = layers()
        let own = ftn(customer, [500])
        let changes = layers.applyLDP([.replace(ftn(loopback, [200])), .replace(own)])
        #expect(changes == [.replace(ftn(loopback, [200])), .replace(own)])
        #expect(layers.effective.entries[.prefix(customer)] == own)
    }

    @Test func aStaticLSPToTheLoopbackCarriesItToo() {
        var layers = layers()
        let lsp = StaticLSP(key: .prefix(loopback), fec: loopback,
                            nextHop: LFIBNextHop(address: .v4(IPv4Address("10.0.1.2")!), interface: "eth1", outLabels: [700]))
        _ = layers.setStatic([lsp])
        #expect(layers.effective.entries[.prefix(customer)]?.nextHops == [lsp.nextHop])
    }

    @Test func reloadingTheRoutesAddsAndWithdrawsTheirEntries() {
        var layers = layers()
        _ = layers.applyLDP([.replace(ftn(loopback, [200]))])
        let withdrawn = layers.setStaticRoutes([])
        #expect(withdrawn == [.remove(.prefix(customer))])
        #expect(layers.effective == layers.ldp)
        let other = IPPrefix("172.16.4.0/24")!
        let added = layers.setStaticRoutes([StaticRoute(prefix: other, via: IPv4Address("3.3.3.3")!)])
        #expect(added == [.replace(LFIBEntry(key: .prefix(other), fec: other, nextHops: ftn(loopback, [200]).nextHops))])
        // A route over an LDP prefix of its own with only implicit-null: the route wins, and LDP's comes back after.
        let ldpOwn = ftn(other, [ReservedLabel.implicitNull])
        #expect(layers.applyLDP([.replace(ldpOwn)]).count == 1)
        #expect(layers.setStaticRoutes([]) == [.replace(ldpOwn)])
    }

    // MARK: The remote LER as a direct neighbour

    /// Our label for the loopback where the next hop advertised implicit-null: LDP's pop entry,
    /// and no FTN.
    func pop(_ label: UInt32, _ hops: [(String, String, [UInt32])]) -> LFIBEntry {
        LFIBEntry(key: .label(label), fec: loopback, nextHops: hops.map {
            LFIBNextHop(address: .v4(IPv4Address($0.0)!), interface: $0.1, outLabels: $0.2)
        })
    }

    func customerEntry(_ hops: [LFIBNextHop]) -> LFIBEntry {
        LFIBEntry(key: .prefix(customer), fec: customer, nextHops: hops)
    }

    @Test func anAdjacentLERIsAPlainRouteViaItself() throws {
        var layers = layers()
        let popEntry = pop(16, [("10.0.0.2", "eth0", [ReservedLabel.implicitNull])])
        let changes = layers.applyLDP([.replace(popEntry)])
        #expect(changes == [.replace(popEntry), .replace(customerEntry(popEntry.nextHops))])
        #expect(try requests(changes).map(\.description) == [
            "mpls 16: via 10.0.0.2 dev 2",
            "ipv4 172.16.3.0/24 table 193: via 10.0.0.2 dev 2",
        ])
        #expect(try requests(changes)[1].nextHops.allSatisfy { $0.encapsulation.isEmpty }, "no encap: the kernel sends plain IP")
        #expect(layers.effective.entries[.prefix(customer)]?.action == .push)
        #expect(layers.effective.tunnelPrefixes == [customer], "the userspace plane forwards it too")
        // An unrelated change leaves it alone.
        #expect(layers.applyLDP([.replace(ftn(IPPrefix("4.4.4.4/32")!, [400]))]).count == 1)
    }

    @Test func theRouteLeavesWithThePopEntry() {
        var layers = layers()
        _ = layers.applyLDP([.replace(pop(16, [("10.0.0.2", "eth0", [ReservedLabel.implicitNull])]))])
        #expect(layers.applyLDP([.remove(.label(16))]) == [.remove(.label(16)), .remove(.prefix(customer))])
        #expect(layers.effective.entries.isEmpty)
        // Our label for the loopback changes (withdrawn, then a new one): the route follows.
        let renewed = pop(17, [("10.0.0.2", "eth0", [ReservedLabel.implicitNull])])
        #expect(layers.applyLDP([.replace(renewed)]) == [.replace(renewed), .replace(customerEntry(renewed.nextHops))])
        // A static LSP taking the pop entry's label over takes the route with it.
        let lsp = StaticLSP(key: .label(17), fec: IPPrefix(IPv4Address.any, length: 0),
                            nextHop: LFIBNextHop(address: .v4(IPv4Address("10.0.1.2")!), interface: "eth1", outLabels: [900]))
        #expect(layers.setStatic([lsp]) == [.replace(LayeredLFIB.entries([lsp])[.label(17)]!), .remove(.prefix(customer))])
        #expect(layers.setStatic([]) == [.replace(renewed), .replace(customerEntry(renewed.nextHops))])
    }

    @Test func aLabelledFTNToTheLoopbackWinsOverThePopEntry() throws {
        var layers = layers()
        let adjacent = pop(16, [("10.0.0.2", "eth0", [ReservedLabel.implicitNull])])
        _ = layers.applyLDP([.replace(adjacent)])
        // The direct link goes; the loopback is now reached through a transit LSR: our label
        // swaps, and the FTN pushes.
        let transit = pop(16, [("10.0.1.2", "eth1", [300])])
        let changes = layers.applyLDP([.replace(transit), .replace(ftn(loopback, [300], via: "10.0.1.2", "eth1"))])
        #expect(try requests(changes).map(\.description) == [
            "mpls 16: via 10.0.1.2 dev 3 newdst 300",
            "ipv4 3.3.3.3/32 table 193: via 10.0.1.2 dev 3 encap mpls 300",
            "ipv4 172.16.3.0/24 table 193: via 10.0.1.2 dev 3 encap mpls 300",
        ])
        // A static pop LSP naming the loopback does not displace the labelled FTN either.
        let staticPop = StaticLSP(key: .label(100), fec: loopback,
                                  nextHop: LFIBNextHop(address: .v4(IPv4Address("10.0.0.2")!), interface: "eth0",
                                                       outLabels: [ReservedLabel.implicitNull]))
        #expect(layers.setStatic([staticPop]).map(\.key) == [.label(100)])
        #expect(layers.effective.entries[.prefix(customer)]?.nextHops.map(\.outLabels) == [[300]])
        // The link comes back: the FTN goes, the route is plain IP again.
        let back = layers.applyLDP([.replace(adjacent), .remove(.prefix(loopback))])
        #expect(back == [.replace(adjacent), .remove(.prefix(loopback)), .replace(customerEntry(adjacent.nextHops))])
    }

    @Test func equalCostHopsMixingTheLERAndATransitLSR() throws {
        var layers = layers()
        // One next hop is the LER itself (implicit-null), the other a transit LSR (label 300):
        // LDP keeps the FTN, which the route copies whole.
        let both: [(String, String, [UInt32])] = [("10.0.0.2", "eth0", [ReservedLabel.implicitNull]), ("10.0.1.2", "eth1", [300])]
        let mixedFTN = LFIBEntry(key: .prefix(loopback), fec: loopback, nextHops: pop(16, both).nextHops)
        let changes = layers.applyLDP([.replace(pop(16, both)), .replace(mixedFTN)])
        #expect(try requests(changes).last?.description == "ipv4 172.16.3.0/24 table 193: via 10.0.0.2 dev 2, via 10.0.1.2 dev 3 encap mpls 300")
        #expect(layers.effective.entries[.prefix(customer)]?.nextHops == mixedFTN.nextHops)
        // The transit path goes: LDP drops the FTN (nothing left to push) and keeps the pop
        // entry; the route stays, over the LER alone.
        let adjacentOnly = pop(16, [both[0]])
        let narrowed = layers.applyLDP([.replace(adjacentOnly), .remove(.prefix(loopback))])
        #expect(narrowed == [.replace(adjacentOnly), .remove(.prefix(loopback)), .replace(customerEntry(adjacentOnly.nextHops))])
        // The direct link goes instead: the FTN alone carries it, with the label.
        let transitOnly = LFIBEntry(key: .prefix(loopback), fec: loopback, nextHops: pop(16, [both[1]]).nextHops)
        _ = layers.applyLDP([.replace(pop(16, [both[1]])), .replace(transitOnly)])
        #expect(layers.effective.entries[.prefix(customer)]?.nextHops == transitOnly.nextHops)
    }

    @Test func withoutStaticRoutesTheChangesPassAsTheyAre() {
        var layers = LayeredLFIB()
        let changes: [LFIBChange] = [.replace(ftn(loopback, [200])), .remove(.label(100))]
        #expect(layers.applyLDP(changes) == changes)
        #expect(layers.effective == layers.ldp)
    }
}

/// The kernel installer retries what failed with the next update.
@Suite struct KernelRetryTests {
    let entry = LFIBEntry(key: .label(100), fec: IPPrefix("3.3.3.3/32")!,
                          nextHops: [LFIBNextHop(address: .v4(IPv4Address("10.0.0.2")!), interface: "eth0", outLabels: [200])])

    @Test func failedEntriesGoAgainWithTheNextUpdate() {
        var wanted = LFIB()
        _ = KernelInstaller.kernelChanges(for: [.replace(entry)], wanted: &wanted)
        let other = LFIBChange.remove(.label(101))
        #expect(KernelInstaller.kernelChanges(for: [other], wanted: &wanted, retrying: [entry.key, .label(102)])
            == [other, .replace(entry), .remove(.label(102))])
        // A key that changes now is not sent twice.
        #expect(KernelInstaller.kernelChanges(for: [.remove(entry.key)], wanted: &wanted, retrying: [entry.key]) == [.remove(entry.key)])
    }

    @Test func retriesAreBoundedPerUpdate() {
        var wanted = LFIB()
        let failed = Set((0..<1000).map { LFIBKey.label(UInt32(1000 + $0)) })
        #expect(KernelInstaller.kernelChanges(for: [], wanted: &wanted, retrying: failed).count == KernelInstaller.retriesPerUpdate)
    }
}

/// Which plane receives each interface's labelled frames, per dataplane mode.
@Suite struct InterfaceOwnershipTests {
    let interfaces: [DaemonConfiguration.Interface] = [
        .init(name: "eth0"), .init(name: "eth1", forwarding: .userspace), .init(name: "eth2", forwarding: .kernel),
    ]

    @Test func kernelModeOwnsEveryInterface() {
        let plain = interfaces.map { DaemonConfiguration.Interface(name: $0.name) }
        #expect(DataplaneSelection.ownership(mode: .kernel, interfaces: plain, kernelAvailable: true)
            == InterfaceOwnership(kernel: ["eth0", "eth1", "eth2"], userspace: []))
    }

    @Test func userspaceModeKeepsTheKernelOffEveryInterface() {
        let plain = interfaces.map { DaemonConfiguration.Interface(name: $0.name) }
        #expect(DataplaneSelection.ownership(mode: .userspace, interfaces: plain, kernelAvailable: true)
            == InterfaceOwnership(kernel: [], userspace: ["eth0", "eth1", "eth2"]))
    }

    @Test func autoFollowsTheKernel() {
        let plain = interfaces.map { DaemonConfiguration.Interface(name: $0.name) }
        #expect(DataplaneSelection.ownership(mode: .auto, interfaces: plain, kernelAvailable: true).userspace.isEmpty)
        #expect(DataplaneSelection.ownership(mode: .auto, interfaces: plain, kernelAvailable: false).kernel.isEmpty)
    }

    @Test func bothSplitsByInterfaceWithTheKernelByDefault() {
        #expect(DataplaneSelection.ownership(mode: .both, interfaces: interfaces, kernelAvailable: true)
            == InterfaceOwnership(kernel: ["eth0", "eth2"], userspace: ["eth1"]))
    }

    @Test func theForwardingKeyParses() throws {
        let configuration = try DaemonConfiguration.parse("""
            router-id: 1.1.1.1
            interfaces:
              - eth0
              - { name: eth1, forwarding: userspace }
              - { name: eth2, forwarding: kernel }
            dataplane: both
            """, file: "b.yaml")
        #expect(configuration.interfaces == interfaces)
    }

    @Test func theForwardingKeyIsRefusedOutsideBoth() {
        #expect {
            try DaemonConfiguration.parse("""
                router-id: 1.1.1.1
                interfaces:
                  - eth0
                  - { name: eth1, forwarding: userspace }
                dataplane: kernel
                """, file: "b.yaml")
        } throws: { error in
            "\(error)" == "b.yaml:4: key 'interfaces.forwarding': only valid with 'dataplane: both' (the dataplane is 'kernel')"
        }
        // The default mode is auto: one plane, so no choice either.
        #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("router-id: 1.1.1.1\ninterfaces: [{ name: eth1, forwarding: kernel }]", file: "b.yaml")
        }
        #expect {
            try DaemonConfiguration.parse("router-id: 1.1.1.1\ndataplane: both\ninterfaces: [{ name: eth1, forwarding: xdp }]", file: "b.yaml")
        } throws: { error in
            "\(error)" == "b.yaml:3: key 'interfaces.forwarding': 'xdp' is not one of kernel, userspace"
        }
    }

    @Test func theUserspaceEngineOfBothSeesOnlyLabelEntries() {
        let recording = RecordingInstaller()
        let installer = LabelSwitchingOnly(recording)
        let prefix = IPPrefix("10.9.0.0/24")!
        let hops = [LFIBNextHop(address: .v4(IPv4Address("10.0.0.2")!), interface: "eth0", outLabels: [200])]
        installer.apply([.replace(LFIBEntry(key: .label(100), fec: prefix, nextHops: hops)),
                         .replace(LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: hops))])
        #expect(recording.status(of: .label(100)) == .installed)
        #expect(recording.status(of: .prefix(prefix)) == .absent)
        #expect(installer.status(of: .label(100)) == .installed)
        #expect(installer.name == "record")
    }
}
