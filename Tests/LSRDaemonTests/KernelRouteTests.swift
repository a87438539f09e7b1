import Foundation
import LDPCodec
import Logging
import MPLSTables
import Synchronization
import Testing
@testable import LSRDaemon

/// The netlink routes the kernel installer asks for, checked without a kernel.
@Suite struct KernelRouteRequestTests {
    let indexes: [String: Int32] = ["eth0": 2, "eth1": 3]
    var resolve: (String) -> Int32? { { indexes[$0] } }

    func hop(_ address: String?, _ interface: String, _ labels: [UInt32]) -> LFIBNextHop {
        LFIBNextHop(address: address.map { .v4(IPv4Address($0)!) }, interface: interface, outLabels: labels)
    }

    func request(_ change: LFIBChange) throws -> KernelRouteRequest {
        try KernelRouteRequest.make(for: change, interfaceIndex: resolve)
    }

    @Test func labelStackEntriesCarryBottomOfStackOnTheLastOnly() {
        // 100 << 12 = 0x64000; BoS is bit 8.
        #expect(KernelRouteRequest.labelStack([100]) == [0x00, 0x06, 0x41, 0x00])
        #expect(KernelRouteRequest.labelStack([16, 1048575]) == [0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0xF1, 0x00])
        #expect(KernelRouteRequest.labels(inStack: KernelRouteRequest.labelStack([16, 200, 1048575])) == [16, 200, 1048575])
    }

    @Test func swapIsAnMPLSRouteWithNewDestinationAndVia() throws {
        let entry = LFIBEntry(key: .label(100), fec: IPPrefix("10.9.0.0/24")!, nextHops: [hop("10.0.0.2", "eth0", [200])])
        let route = try request(.replace(entry))
        #expect(route.operation == .replace)
        #expect(route.family == 28)
        #expect(route.destination == [0x00, 0x06, 0x41, 0x00])
        #expect(route.destinationLength == 20)
        #expect(route.table == 254)
        #expect(route.protocolNumber == Daemon.routeProtocol)
        #expect(route.type == 1)
        #expect(route.scope == 0)
        #expect(route.flags == 0x400 | 0x100)
        #expect(route.nextHops == [.init(gateway: IPv4Address("10.0.0.2"), interfaceIndex: 2,
                                         newDestination: [0x00, 0x0C, 0x81, 0x00])])
        #expect(route.description == "mpls 100: via 10.0.0.2 dev 2 newdst 200")
    }

    @Test func penultimateHopPopHasNoNewDestination() throws {
        let entry = LFIBEntry(key: .label(101), fec: IPPrefix("10.9.0.0/24")!, nextHops: [hop("10.0.0.2", "eth1", [3])])
        #expect(entry.action == .pop)
        let route = try request(.replace(entry))
        #expect(route.family == 28)
        #expect(route.nextHops == [.init(gateway: IPv4Address("10.0.0.2"), interfaceIndex: 3)])
        #expect(route.description == "mpls 101: via 10.0.0.2 dev 3")
    }

    @Test func explicitNullIsSwappedInLikeAnyLabel() throws {
        let swap = LFIBEntry(key: .label(102), fec: IPPrefix("10.9.0.0/24")!, nextHops: [hop("10.0.0.2", "eth0", [0])])
        #expect(try request(.replace(swap)).nextHops.first?.newDestination == [0x00, 0x00, 0x01, 0x00])
        let push = LFIBEntry(key: .prefix(IPPrefix("10.9.0.0/24")!), fec: IPPrefix("10.9.0.0/24")!, nextHops: [hop("10.0.0.2", "eth0", [0])])
        #expect(try request(.replace(push)).nextHops.first?.encapsulation == [0x00, 0x00, 0x01, 0x00])
    }

    @Test func equalCostNextHopsBecomeOneMultipathRoute() throws {
        let entry = LFIBEntry(key: .label(300), fec: IPPrefix("10.9.0.0/24")!,
                              nextHops: [hop("10.0.1.2", "eth1", [3]), hop("10.0.0.2", "eth0", [400])])
        let route = try request(.replace(entry))
        #expect(route.nextHops.count == 2)
        #expect(Set(route.nextHops) == [
            .init(gateway: IPv4Address("10.0.0.2"), interfaceIndex: 2, newDestination: KernelRouteRequest.labelStack([400])),
            .init(gateway: IPv4Address("10.0.1.2"), interfaceIndex: 3),
        ])
        #expect(route.flags & 0x800 == 0, "never NLM_F_APPEND")
    }

    @Test func pushOfOneLabelIsAnIPv4RouteWithMPLSEncapInTheFTNTable() throws {
        let prefix = IPPrefix("10.9.0.0/24")!
        let entry = LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: [hop("10.0.0.2", "eth0", [500])])
        let route = try request(.replace(entry))
        #expect(route.family == 2)
        #expect(route.destination == [10, 9, 0, 0])
        #expect(route.destinationLength == 24)
        #expect(route.table == 193)
        #expect(route.protocolNumber == Daemon.routeProtocol)
        #expect(route.scope == 0)
        #expect(route.type == 1)
        #expect(route.flags == 0x500)
        #expect(route.nextHops == [.init(gateway: IPv4Address("10.0.0.2"), interfaceIndex: 2,
                                         encapsulation: KernelRouteRequest.labelStack([500]))])
        #expect(route.description == "ipv4 10.9.0.0/24 table 193: via 10.0.0.2 dev 2 encap mpls 500")
    }

    @Test func pushOfTwoLabelsKeepsTheOuterFirst() throws {
        let prefix = IPPrefix("10.9.0.1/32")!
        let entry = LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: [hop("10.0.0.2", "eth0", [500, 600])])
        let stack = try request(.replace(entry)).nextHops[0].encapsulation
        #expect(stack == [0x00, 0x1F, 0x40, 0x00, 0x00, 0x25, 0x81, 0x00])
    }

    @Test func pushOfImplicitNullIsAPlainRoute() throws {
        let prefix = IPPrefix("10.9.0.0/24")!
        let entry = LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: [hop("10.0.0.2", "eth0", [3])])
        let route = try request(.replace(entry))
        #expect(route.nextHops == [.init(gateway: IPv4Address("10.0.0.2"), interfaceIndex: 2)])
        #expect(route.family == 2)
        #expect(route.table == 193)
        #expect(route.scope == 0, "through a gateway")
        #expect(route.description == "ipv4 10.9.0.0/24 table 193: via 10.0.0.2 dev 2")
    }

    @Test func pushOfImplicitNullBesideALabelEncapsulatesOnlyTheLabelledHop() throws {
        // A static route over an LER one hop away on one path and behind a transit LSR on the other.
        let prefix = IPPrefix("192.168.2.0/24")!
        let entry = LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: [hop("10.0.0.2", "eth0", [3]), hop("10.0.1.2", "eth1", [500])])
        let route = try request(.replace(entry))
        #expect(Set(route.nextHops) == [
            .init(gateway: IPv4Address("10.0.0.2"), interfaceIndex: 2),
            .init(gateway: IPv4Address("10.0.1.2"), interfaceIndex: 3, encapsulation: KernelRouteRequest.labelStack([500])),
        ])
        #expect(route.description == "ipv4 192.168.2.0/24 table 193: via 10.0.0.2 dev 2, via 10.0.1.2 dev 3 encap mpls 500")
    }

    @Test func placementIsConfigurable() throws {
        let prefix = IPPrefix("10.9.0.0/24")!
        let entry = LFIBEntry(key: .prefix(prefix), fec: prefix, nextHops: [hop("10.0.0.2", "eth0", [500])])
        let route = try KernelRouteRequest.make(for: .replace(entry), placement: KernelRoutePlacement(protocolNumber: 200, ftnTable: 50),
                                                interfaceIndex: resolve)
        #expect(route.table == 50)
        #expect(route.protocolNumber == 200)
    }

    @Test func removalNamesOnlyTheDestination() throws {
        let label = try request(.remove(.label(100)))
        #expect(label.operation == .delete)
        #expect(label.family == 28)
        #expect(label.destination == KernelRouteRequest.labelStack([100]))
        #expect(label.table == 254)
        #expect(label.scope == 0)
        #expect(label.nextHops.isEmpty)
        let ftn = try request(.remove(.prefix(IPPrefix("10.9.0.0/24")!)))
        #expect(ftn.operation == .delete)
        #expect(ftn.family == 2)
        #expect(ftn.table == 193)
        #expect(ftn.protocolNumber == Daemon.routeProtocol)
        #expect(ftn.scope == 255, "matches the route whatever its scope")
        #expect(ftn.flags == 0)
    }

    @Test func entriesTheKernelCannotExpressAreErrors() {
        let unknown = LFIBEntry(key: .label(100), fec: IPPrefix("10.9.0.0/24")!, nextHops: [hop("10.0.0.2", "eth9", [200])])
        #expect(throws: KernelRouteError("label 100: interface 'eth9' does not exist")) { try request(.replace(unknown)) }
        let reserved = LFIBEntry(key: .label(3), fec: IPPrefix("10.9.0.0/24")!, nextHops: [hop("10.0.0.2", "eth0", [200])])
        #expect(throws: KernelRouteError.self) { try request(.replace(reserved)) }
        let noHops = LFIBEntry(key: .label(100), fec: IPPrefix("10.9.0.0/24")!, nextHops: [])
        #expect(throws: KernelRouteError.self) { try request(.replace(noHops)) }
    }

    @Test func driftListsMissingDifferentAndUnwantedRoutes() throws {
        let fec = IPPrefix("10.9.0.0/24")!
        let wanted = [
            LFIBEntry(key: .label(100), fec: fec, nextHops: [hop("10.0.0.2", "eth0", [200])]),
            LFIBEntry(key: .label(101), fec: fec, nextHops: [hop("10.0.0.2", "eth0", [201])]),
            LFIBEntry(key: .label(102), fec: fec, nextHops: [hop("10.0.0.2", "eth0", [3])]),
        ]
        var kernel = try wanted.map { try request(.replace($0)) }
        #expect(KernelInstaller.drift(intended: wanted, kernel: kernel, placement: KernelRoutePlacement(), interfaceIndex: resolve) == [])
        kernel[1].nextHops[0].newDestination = KernelRouteRequest.labelStack([999])
        kernel.remove(at: 2)
        kernel.append(try request(.replace(LFIBEntry(key: .label(700), fec: fec, nextHops: [hop(nil, "eth1", [3])]))))
        #expect(KernelInstaller.drift(intended: wanted, kernel: kernel, placement: KernelRoutePlacement(), interfaceIndex: resolve) == [
            "differs: wanted mpls 101: via 10.0.0.2 dev 2 newdst 201; kernel has mpls 101: via 10.0.0.2 dev 2 newdst 999",
            "missing in the kernel: mpls 102: via 10.0.0.2 dev 2",
            "not in the LFIB: mpls 700: dev 3",
        ])
    }

    @Test func kernelOptionsParseAndUnknownKeysAreRefused() throws {
        let configuration = try DaemonConfiguration.parse("""
            router-id: 1.1.1.1
            kernel: { platform-labels: 4096, mpls-input: false, keep-routes: true, ftn-table: 50, ftn-rule-priority: 900 }
            """, file: "k.yaml")
        #expect(configuration.kernel.platformLabels == 4096)
        #expect(configuration.kernel.enableMPLSInput == false)
        #expect(configuration.kernel.keepRoutes == true)
        #expect(configuration.kernel.ftnTable == 50)
        #expect(configuration.kernel.ftnRulePriority == 900)
        #expect(try DaemonConfiguration.parse("router-id: 1.1.1.1", file: "k.yaml").kernel == KernelDataplaneOptions())
        #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("router-id: 1.1.1.1\nkernel: { tabel: 5 }", file: "k.yaml")
        }
        #expect(throws: ConfigurationError.self) {
            try DaemonConfiguration.parse("router-id: 1.1.1.1\nkernel: { ftn-table: 254 }", file: "k.yaml")
        }
    }
}

/// Keeps every message logged, for checking what the operator is told.
final class CollectedMessages: Sendable {
    let messages = Mutex<[(Logger.Level, String)]>([])
    var all: [(Logger.Level, String)] { messages.withLock { $0 } }
}

struct CollectingLogHandler: LogHandler {
    let sink: CollectedMessages
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        sink.messages.withLock { $0.append((level, message.description)) }
    }
}

/// Dataplane selection on a kernel without MPLS forwarding (this host; a reason stands in for it
/// where the host has MPLS).
@Suite struct KernelDataplaneSelectionTests {
    let reason = DataplaneSelection.kernelMPLSUnavailableReason() ?? "/proc/sys/net/mpls/platform_labels is missing (no mpls_router module)"

    @Test func thisHostHasNoKernelMPLS() throws {
        try #require(!FileManager.default.fileExists(atPath: "/proc/sys/net/mpls"), "this host forwards MPLS: the host tests below use a stand-in reason")
        #expect(DataplaneSelection.kernelMPLSUnavailableReason() == "/proc/sys/net/mpls/platform_labels is missing (no mpls_router module)")
    }

    @Test(arguments: [DataplaneMode.kernel, .both])
    func kernelModesRefuseWithAClearMessage(mode: DataplaneMode) {
        let sink = CollectedMessages()
        let logger = Logger(label: "test") { _ in CollectingLogHandler(sink: sink) }
        #expect {
            try DataplaneSelection.installers(for: mode, kernel: KernelDataplaneOptions(), interfaces: [], logger: logger, kernelReason: reason)
        } throws: { error in
            "\(error)" == "kernel MPLS forwarding unavailable: \(reason); dataplane '\(mode.rawValue)' cannot run here"
        }
    }

    @Test func autoFallsBackAndSaysWhy() throws {
        let sink = CollectedMessages()
        let logger = Logger(label: "test") { _ in CollectingLogHandler(sink: sink) }
        let installers = try DataplaneSelection.installers(for: .auto, kernel: KernelDataplaneOptions(), interfaces: [], logger: logger,
                                                           kernelReason: reason)
        #expect(!installers.contains { $0.name == "kernel" })
        #expect(sink.all.contains { $0.0 == .notice && $0.1 == "kernel MPLS forwarding unavailable: \(reason); using the userspace dataplane" })
    }
}
