import Testing
import LDPCodec
import LDPEngine
@testable import LSRDaemon

@Suite struct RoutingTableTrackerTests {
    let eth0 = KernelLink(index: 2, name: "eth0", isUp: true)
    let eth1 = KernelLink(index: 3, name: "eth1", isUp: true)
    let lo = KernelLink(index: 1, name: "lo", isUp: true, isLoopback: true)

    func route(_ prefix: String, via hops: [(String, Int32)], protocolNumber: UInt8 = 4, priority: UInt32 = 0) -> KernelRoute {
        KernelRoute(prefix: IPPrefix(prefix)!, table: KernelRoute.mainTable, type: KernelRoute.unicastType,
                    protocolNumber: protocolNumber, priority: priority,
                    nextHops: hops.map { KernelRoute.NextHop(gateway: IPAddress($0.0), interfaceIndex: $0.1) })
    }

    func address(_ text: String, _ length: UInt8, on index: Int32) -> KernelAddress {
        KernelAddress(interfaceIndex: index, address: IPAddress(text)!, prefixLength: length)
    }

    @Test func loopbackAndConnectedAndStaticRoutes() {
        var tracker = RoutingTableTracker(ownProtocol: Daemon.routeProtocol)
        _ = tracker.linkChanged(lo)
        _ = tracker.linkChanged(eth0)
        let loopback = tracker.addressAdded(address("1.1.1.1", 32, on: 1))
        #expect(loopback.contains(.routeChanged(Route(prefix: IPPrefix("1.1.1.1/32")!, nextHops: [], isLocal: true))))
        let connected = tracker.addressAdded(address("10.0.12.1", 24, on: 2))
        #expect(connected.contains(.routeChanged(Route(prefix: IPPrefix("10.0.12.0/24")!,
                                                       nextHops: [.init(address: nil, interface: "eth0")]))))
        #expect(connected.contains(.interfaceChanged(name: "eth0", isUp: true, addresses: [IPAddress("10.0.12.1")!])))
        let viaStatic = tracker.routeAdded(route("2.2.2.2/32", via: [("10.0.12.2", 2)]))
        #expect(viaStatic == [.routeChanged(Route(prefix: IPPrefix("2.2.2.2/32")!,
                                                  nextHops: [.init(address: IPAddress("10.0.12.2"), interface: "eth0")]))])
        // Loopback net and our own kernel routes are never FECs.
        #expect(tracker.addressAdded(address("127.0.0.1", 8, on: 1)).allSatisfy {
            if case .routeChanged = $0 { false } else { true }
        })
        #expect(tracker.routeAdded(route("9.9.9.9/32", via: [("10.0.12.2", 2)], protocolNumber: Daemon.routeProtocol)).isEmpty)
    }

    @Test func ecmpLinkDownAndRouteReplacement() {
        var tracker = RoutingTableTracker(ownProtocol: Daemon.routeProtocol)
        _ = tracker.linkChanged(eth0)
        _ = tracker.linkChanged(eth1)
        let both = tracker.routeAdded(route("4.4.4.4/32", via: [("10.0.12.2", 2), ("10.0.13.3", 3)]))
        #expect(both == [.routeChanged(Route(prefix: IPPrefix("4.4.4.4/32")!, nextHops: [
            .init(address: IPAddress("10.0.12.2"), interface: "eth0"), .init(address: IPAddress("10.0.13.3"), interface: "eth1"),
        ]))])
        var down = eth1
        down.isUp = false
        let oneLeft = tracker.linkChanged(down)
        #expect(oneLeft.contains(.routeChanged(Route(prefix: IPPrefix("4.4.4.4/32")!,
                                                     nextHops: [.init(address: IPAddress("10.0.12.2"), interface: "eth0")]))))
        #expect(oneLeft.contains(.interfaceChanged(name: "eth1", isUp: false, addresses: [])))
        // Replacing the route with one via the down link leaves no usable route.
        #expect(tracker.routeAdded(route("4.4.4.4/32", via: [("10.0.13.3", 3)])) == [.routeRemoved(IPPrefix("4.4.4.4/32")!)])
        // A worse-metric route takes over where the better one is unusable.
        #expect(tracker.routeAdded(route("4.4.4.4/32", via: [("10.0.12.2", 2)], priority: 100)) == [
            .routeChanged(Route(prefix: IPPrefix("4.4.4.4/32")!, nextHops: [.init(address: IPAddress("10.0.12.2"), interface: "eth0")])),
        ])
        #expect(tracker.routeRemoved(route("4.4.4.4/32", via: [], priority: 100)) == [.routeRemoved(IPPrefix("4.4.4.4/32")!)])
    }

    @Test func routeAddedWithoutCarrierIsUsedOnceTheCarrierReturns() {
        var tracker = RoutingTableTracker(ownProtocol: Daemon.routeProtocol)
        var noCarrier = eth0
        noCarrier.isUp = false
        _ = tracker.linkChanged(noCarrier)
        _ = tracker.addressAdded(address("10.0.12.1", 24, on: 2))
        // Added while the veth peer was still down: the kernel flags the hop RTNH_F_LINKDOWN.
        var flagged = route("2.2.2.2/32", via: [("10.0.12.2", 2)])
        flagged.nextHops[0].isDown = true
        #expect(tracker.routeAdded(flagged).isEmpty)
        // The carrier returns; the kernel clears the flag without a new RTM_NEWROUTE.
        let up = tracker.linkChanged(eth0)
        #expect(up.contains(.routeChanged(Route(prefix: IPPrefix("2.2.2.2/32")!,
                                                nextHops: [.init(address: IPAddress("10.0.12.2"), interface: "eth0")]))))
    }

    @Test func removedLinkTakesItsAddressesAndRoutes() {
        var tracker = RoutingTableTracker(ownProtocol: Daemon.routeProtocol)
        _ = tracker.linkChanged(eth0)
        _ = tracker.addressAdded(address("10.0.12.1", 24, on: 2))
        _ = tracker.routeAdded(route("2.2.2.2/32", via: [("10.0.12.2", 2)]))
        let changes = tracker.linkRemoved(index: 2)
        #expect(changes.contains(.routeRemoved(IPPrefix("2.2.2.2/32")!)))
        #expect(changes.contains(.routeRemoved(IPPrefix("10.0.12.0/24")!)))
        #expect(tracker.routes.isEmpty)
    }
}
