import LDPCodec
import Logging
import MPLSForwarding
import MPLSTables
import Testing
@testable import LSRDaemon

/// Static routes in the kernel installer: customer prefixes pushed with their loopback's labels.
@Suite struct KernelStaticRouteTests {
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

    @Test func aCustomerPrefixIsPushedWithItsLoopbacksLabel() throws {
        var lfib = LFIB(), wanted = LFIB()
        let changes = KernelInstaller.kernelChanges(for: [.replace(ftn(loopback, [200]))], lfib: &lfib, wanted: &wanted,
                                                    staticRoutes: routes)
        let made = try requests(changes)
        #expect(made.map(\.description) == [
            "ipv4 3.3.3.3/32 table 193: via 10.0.0.2 dev 2 encap mpls 200",
            "ipv4 172.16.3.0/24 table 193: via 10.0.0.2 dev 2 encap mpls 200",
        ])
        #expect(made[1].protocolNumber == 193)
        #expect(made[1].destination == [172, 16, 3, 0])
        #expect(made[1].destinationLength == 24)
        #expect(made[1].nextHops[0].encapsulation == KernelRouteRequest.labelStack([200]))
        #expect(wanted.entries[.prefix(customer)]?.nextHops == ftn(loopback, [200]).nextHops)
    }

    @Test func itFollowsTheLSPAndLeavesWithIt() throws {
        var lfib = LFIB(), wanted = LFIB()
        _ = KernelInstaller.kernelChanges(for: [.replace(ftn(loopback, [200]))], lfib: &lfib, wanted: &wanted, staticRoutes: routes)
        let moved = KernelInstaller.kernelChanges(for: [.replace(ftn(loopback, [300], via: "10.0.1.2", "eth1"))],
                                                  lfib: &lfib, wanted: &wanted, staticRoutes: routes)
        #expect(try requests(moved).map(\.description) == [
            "ipv4 3.3.3.3/32 table 193: via 10.0.1.2 dev 3 encap mpls 300",
            "ipv4 172.16.3.0/24 table 193: via 10.0.1.2 dev 3 encap mpls 300",
        ])
        let gone = KernelInstaller.kernelChanges(for: [.remove(.prefix(loopback))], lfib: &lfib, wanted: &wanted, staticRoutes: routes)
        #expect(gone == [.remove(.prefix(loopback)), .remove(.prefix(customer))])
        let removal = try requests(gone)[1]
        #expect(removal.operation == .delete)
        #expect(removal.table == 193)
        #expect(wanted.entries.isEmpty)
    }

    @Test func implicitNullMakesAPlainRouteViaTheNextHop() throws {
        var lfib = LFIB(), wanted = LFIB()
        let changes = KernelInstaller.kernelChanges(for: [.replace(ftn(loopback, [ReservedLabel.implicitNull]))],
                                                    lfib: &lfib, wanted: &wanted, staticRoutes: routes)
        #expect(try requests(changes).map(\.description) == [
            "ipv4 3.3.3.3/32 table 193: via 10.0.0.2 dev 2",
            "ipv4 172.16.3.0/24 table 193: via 10.0.0.2 dev 2",
        ])
    }

    @Test func unrelatedChangesLeaveItAloneUnlessItFailed() {
        var lfib = LFIB(), wanted = LFIB()
        _ = KernelInstaller.kernelChanges(for: [.replace(ftn(loopback, [200]))], lfib: &lfib, wanted: &wanted, staticRoutes: routes)
        let other = ftn(IPPrefix("4.4.4.4/32")!, [400])
        #expect(KernelInstaller.kernelChanges(for: [.replace(other)], lfib: &lfib, wanted: &wanted, staticRoutes: routes)
            == [.replace(other)])
        let retried = KernelInstaller.kernelChanges(for: [.remove(other.key)], lfib: &lfib, wanted: &wanted, staticRoutes: routes,
                                                    retrying: [.prefix(customer)])
        #expect(retried == [.remove(other.key), .replace(LFIBEntry(key: .prefix(customer), fec: customer,
                                                                   nextHops: ftn(loopback, [200]).nextHops))])
    }

    @Test func aPrefixWithALabelOfItsOwnKeepsIt() {
        var lfib = LFIB(), wanted = LFIB()
        let own = ftn(customer, [500])
        let changes = KernelInstaller.kernelChanges(for: [.replace(ftn(loopback, [200])), .replace(own)],
                                                    lfib: &lfib, wanted: &wanted, staticRoutes: routes)
        #expect(changes == [.replace(ftn(loopback, [200])), .replace(own)])
        #expect(wanted.entries[.prefix(customer)] == own)
    }

    @Test func withoutStaticRoutesTheChangesPassAsTheyAre() {
        var lfib = LFIB(), wanted = LFIB()
        let changes: [LFIBChange] = [.replace(ftn(loopback, [200])), .remove(.label(100))]
        #expect(KernelInstaller.kernelChanges(for: changes, lfib: &lfib, wanted: &wanted, staticRoutes: []) == changes)
        #expect(wanted == lfib)
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
