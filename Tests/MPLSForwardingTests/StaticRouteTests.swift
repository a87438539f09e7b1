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

    @Test func tunnelPrefixesAreTheLabelledFTNs() {
        let resolved = Self.base.resolvingStaticRoutes([Self.route])
        // 10.255.0.2 is one hop away (implicit-null): the kernel sends it the same way.
        #expect(resolved.tunnelPrefixes == [IPPrefix("10.255.0.3/32")!, Self.customer])
        #expect(Self.base.tunnelPrefixes == [IPPrefix("10.255.0.3/32")!])
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
}
