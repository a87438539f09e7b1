// Customer prefixes over the LSP to a remote LER: recursive FTN resolution, the TUN route set,
// and the push that results.

import LDPCodec
import MPLSTables
import Testing
@testable import MPLSForwarding

@Suite struct StaticRouteTests {
    typealias F = Fixture

    static let customer = IPPrefix("192.168.2.0/24")!
    static let route = StaticRoute(prefix: customer, via: IPv4Address("10.255.0.3")!)
    static let base = LFIB([
        F.ftn("10.255.0.3/32", [F.hop("10.0.2.2", "eth-b", [500])]),
        F.ftn("10.255.0.2/32", [F.hop("10.0.2.2", "eth-b", [3])]),
        F.label(600, [F.hop("10.0.2.2", "eth-b", [500])]),
    ])

    @Test func prefixBorrowsTheLoopbacksLabels() {
        let added = Self.base.staticRouteEntries([Self.route])
        #expect(added == [LFIBEntry(key: .prefix(Self.customer), fec: Self.customer, nextHops: [F.hop("10.0.2.2", "eth-b", [500])])])
    }

    @Test func followsTheLoopbacksFTNWhenItChanges() {
        var lfib = Self.base
        lfib.apply(.replace(F.ftn("10.255.0.3/32", [F.hop("10.0.3.2", "eth-c", [700]), F.hop("10.0.2.2", "eth-b", [501])])))
        let entry = lfib.staticRouteEntries([Self.route]).first
        #expect(entry?.nextHops == [F.hop("10.0.2.2", "eth-b", [501]), F.hop("10.0.3.2", "eth-c", [700])])
        lfib.apply(.remove(.prefix(IPPrefix("10.255.0.3/32")!)))
        #expect(lfib.staticRouteEntries([Self.route]).isEmpty, "no LSP to the egress: no entry, the IGP route stays in charge")
    }

    @Test func aLabelledFTNOfItsOwnWins() {
        var lfib = Self.base
        let own = F.ftn("192.168.2.0/24", [F.hop("10.0.3.2", "eth-c", [800])])
        lfib.apply(.replace(own))
        #expect(lfib.staticRouteEntries([Self.route]).isEmpty)
        #expect(lfib.resolvingStaticRoutes([Self.route]).entries[.prefix(Self.customer)] == own)
        // An implicit-null FTN of its own is no LSP: the static route replaces it.
        lfib.apply(.replace(F.ftn("192.168.2.0/24", [F.hop("10.0.3.2", "eth-c", [3])])))
        #expect(lfib.resolvingStaticRoutes([Self.route]).entries[.prefix(Self.customer)]?.nextHops == [F.hop("10.0.2.2", "eth-b", [500])])
    }

    @Test func tunnelPrefixesAreEveryFTN() {
        let resolved = Self.base.resolvingStaticRoutes([Self.route])
        // The engine forwards every FTN entry, as the kernel dataplane installs every one.
        #expect(resolved.tunnelPrefixes == [IPPrefix("10.255.0.2/32")!, IPPrefix("10.255.0.3/32")!, Self.customer])
        #expect(Self.base.tunnelPrefixes == [IPPrefix("10.255.0.2/32")!, IPPrefix("10.255.0.3/32")!])
        var empty = Self.base
        empty.apply(.replace(F.ftn("10.255.0.9/32", [])))
        #expect(!empty.tunnelPrefixes.contains(IPPrefix("10.255.0.9/32")!), "no next hop: nothing to forward")
    }

    @Test func customerPacketLeavesWithTheEgressLabel() {
        let snapshot = F.snapshot(lfib: Self.base.resolvingStaticRoutes([Self.route]))
        let run = Run(snapshot, ip: F.udp(dst: [192, 168, 2, 7], ttl: 63))
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(Array(run.output[0..<14]) == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847))
        #expect(Array(run.output[14..<18]) == F.entry(500, bottom: true, ttl: 63))
        #expect(Array(run.output[18...]) == F.udp(dst: [192, 168, 2, 7], ttl: 63))
        #expect(snapshot.counters(of: .prefix(Self.customer))?.packets == 1)
        // Without the static route the same packet has no FTN.
        let bare = Run(F.snapshot(lfib: Self.base), ip: F.udp(dst: [192, 168, 2, 7], ttl: 63))
        #expect(bare.verdict == .drop(.noEntry))
    }

    // MARK: A remote LER that is a direct neighbour

    static let adjacentLoopback = IPPrefix("10.255.0.4/32")!
    static let adjacentRoute = StaticRoute(prefix: customer, via: IPv4Address("10.255.0.4")!)
    /// The remote LER is the next hop and advertised implicit-null for its loopback: LDP keeps
    /// only the pop entry of our label for it, no FTN.
    static func pop(_ label: UInt32, _ hops: [LFIBNextHop], fec: IPPrefix = adjacentLoopback) -> LFIBEntry {
        LFIBEntry(key: .label(label), fec: fec, nextHops: hops)
    }
    static let adjacent = LFIB([pop(610, [F.hop("10.0.2.2", "eth-b", [3])])])

    @Test func anAdjacentLERIsReachedThroughItsLoopbacksPopEntry() {
        let added = Self.adjacent.staticRouteEntries([Self.adjacentRoute])
        #expect(added == [LFIBEntry(key: .prefix(Self.customer), fec: Self.customer, nextHops: [F.hop("10.0.2.2", "eth-b", [3])])])
        #expect(added.first?.action == .push)
        #expect(Self.adjacent.resolvingStaticRoutes([Self.adjacentRoute]).tunnelPrefixes == [Self.customer])
    }

    @Test func onlyAPopEntryOfTheLoopbackCarriesTheRoute() {
        // A swap entry for the loopback means an LSP through a transit LSR: its FTN carries the route.
        #expect(LFIB([Self.pop(610, [F.hop("10.0.2.2", "eth-b", [500])])]).staticRouteEntries([Self.adjacentRoute]).isEmpty)
        // Another FEC's pop entry is no way to the loopback.
        #expect(LFIB([Self.pop(610, [F.hop("10.0.2.2", "eth-b", [3])], fec: IPPrefix("10.255.0.5/32")!)])
            .staticRouteEntries([Self.adjacentRoute]).isEmpty)
        #expect(LFIB([Self.pop(610, [])]).staticRouteEntries([Self.adjacentRoute]).isEmpty)
    }

    @Test func theLoopbacksFTNWinsOverItsPopEntry() {
        var lfib = Self.adjacent
        lfib.apply(.replace(F.ftn("10.255.0.4/32", [F.hop("10.0.3.2", "eth-c", [700])])))
        #expect(lfib.staticRouteEntries([Self.adjacentRoute]).first?.nextHops == [F.hop("10.0.3.2", "eth-c", [700])])
    }

    @Test func theIndexFollowsTheLFIBChangeByChange() {
        var lfib = LFIB()
        var index = IncomingLabelIndex()
        func apply(_ change: LFIBChange) {
            index.apply(change, before: lfib)
            lfib.apply(change)
            #expect(index == IncomingLabelIndex(lfib), "\(change)")
        }
        let towardB = Self.pop(610, [F.hop("10.0.2.2", "eth-b", [3])])
        apply(.replace(towardB))
        #expect(index.popEntry(for: Self.adjacentLoopback, in: lfib) == towardB)
        // A static pop LSP naming the same FEC with a higher label does not displace LDP's lower one.
        let staticPop = Self.pop(900, [F.hop("10.0.3.2", "eth-c", [3])])
        apply(.replace(staticPop))
        #expect(index.popEntry(for: Self.adjacentLoopback, in: lfib) == towardB)
        // The label now swaps: the other pop entry is the one left.
        apply(.replace(Self.pop(610, [F.hop("10.0.2.2", "eth-b", [500])])))
        #expect(index.popEntry(for: Self.adjacentLoopback, in: lfib) == staticPop)
        // An entry that moves to another FEC leaves the old one's index.
        apply(.replace(Self.pop(900, [F.hop("10.0.3.2", "eth-c", [3])], fec: IPPrefix("10.255.0.5/32")!)))
        #expect(index.popEntry(for: Self.adjacentLoopback, in: lfib) == nil)
        apply(.remove(.label(610)))
        apply(.remove(.label(900)))
        #expect(index == IncomingLabelIndex())
    }

    @Test func customerPacketLeavesAsIPForTheAdjacentLER() {
        let snapshot = F.snapshot(lfib: Self.adjacent.resolvingStaticRoutes([Self.adjacentRoute]))
        // From the TUN: the kernel already lowered the TTL; nothing is pushed.
        let run = Run(snapshot, ip: F.udp(dst: [192, 168, 2, 7], ttl: 63))
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x0800) + F.udp(dst: [192, 168, 2, 7], ttl: 63))
        #expect(snapshot.counters(of: .prefix(Self.customer))?.packets == 1)
        // Off a customer-facing interface: this node routes it, one hop less.
        let arriving = Run(snapshot, arriving: F.ethernet(type: 0x0800) + F.udp(dst: [192, 168, 2, 7], ttl: 64))
        #expect(arriving.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x0800) + F.udp(dst: [192, 168, 2, 7], ttl: 63))
        #expect(snapshot.counters(of: .prefix(Self.customer))?.packets == 2)
    }
}
