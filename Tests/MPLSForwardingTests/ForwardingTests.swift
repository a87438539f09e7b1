import Testing
import LDPCodec
import LDPTestSupport
import MPLSTables
@testable import MPLSForwarding

typealias F = Fixture

@Suite struct LabelOperationTests {
    let snapshot = F.snapshot()

    @Test func swapRewritesLabelTTLAndLinkHeader() {
        let run = Run(snapshot, labelled: F.labelled([100], ttl: 64, tc: 5))
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847) + F.entry(200, tc: 5, bottom: true, ttl: 63) + F.udp())
        let counters = snapshot.counters(of: .label(100))
        #expect(counters?.packets == 1)
        #expect(counters?.bytes == UInt64(4 + F.udp().count))
    }

    @Test func swapOfTheHighestLabel() {
        let run = Run(snapshot, labelled: F.labelled([0xFFFFF]))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847) + F.entry(16, bottom: true, ttl: 63) + F.udp())
    }

    @Test func swapOntoTwoLabels() {
        let run = Run(snapshot, labelled: F.labelled([103], ttl: 10))
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847)
            + F.entry(200, bottom: false, ttl: 9) + F.entry(300, bottom: true, ttl: 9) + F.udp())
    }

    @Test func swapKeepsTheLabelsBelow() {
        let frame = F.ethernet(type: 0x8847) + F.entry(100, bottom: false, ttl: 30) + F.entry(555, bottom: true, ttl: 64) + F.udp()
        let run = Run(snapshot, labelled: frame)
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847)
            + F.entry(200, bottom: false, ttl: 29) + F.entry(555, bottom: true, ttl: 64) + F.udp())
    }

    @Test func penultimateHopPopCopiesTTLIntoIPAndFixesChecksum() {
        let run = Run(snapshot, labelled: F.labelled([101], ttl: 10))
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x0800) + F.udp(ttl: 9))
        #expect(F.checksum(run.output[14..<34]) == 0)
    }

    @Test func penultimateHopPopKeepsLargerLabelTTLOut() {
        // Uniform: min(IP TTL, label TTL - 1); the IP TTL never goes up.
        let run = Run(snapshot, labelled: F.labelled([101], ttl: 200, payload: F.udp(ttl: 30)))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x0800) + F.udp(ttl: 30))
    }

    @Test func pipeModelLeavesIPTTLAlone() {
        let pipe = F.snapshot(.pipe)
        let run = Run(pipe, labelled: F.labelled([101], ttl: 10))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x0800) + F.udp(ttl: 64))
        let pushed = Run(pipe, ip: F.udp(ttl: 20))
        #expect(pushed.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847) + F.entry(400, bottom: true, ttl: 255) + F.udp(ttl: 20))
    }

    @Test func popOfInnerLabelCarriesTTLDown() {
        let frame = F.ethernet(type: 0x8847) + F.entry(101, bottom: false, ttl: 7) + F.entry(555, bottom: true, ttl: 64) + F.udp()
        let run = Run(snapshot, labelled: frame)
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847) + F.entry(555, bottom: true, ttl: 6) + F.udp())
    }

    @Test func explicitNullIsPoppedAndDelivered() {
        let run = Run(snapshot, labelled: F.labelled([0], ttl: 5))
        #expect(run.verdict == .deliver)
        #expect(run.output == F.udp(ttl: 5))
        #expect(F.checksum(run.output[0..<20]) == 0)
        let v6 = Run(snapshot, labelled: F.labelled([2], payload: F.tcp6(src: 1, dport: 80)))
        #expect(v6.verdict == .deliver)
        #expect(v6.output == F.tcp6(src: 1, dport: 80))
    }

    @Test func explicitNullAboveALabelIsPoppedThenLookedUp() {
        let frame = F.ethernet(type: 0x8847) + F.entry(0, bottom: false, ttl: 20) + F.entry(100, bottom: true, ttl: 64) + F.udp()
        let run = Run(snapshot, labelled: frame)
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847) + F.entry(200, bottom: true, ttl: 19) + F.udp())
    }

    @Test func egressPopDelivers() {
        let run = Run(snapshot, labelled: F.labelled([102], ttl: 9))
        #expect(run.verdict == .deliver)
        #expect(run.output == F.udp(ttl: 8))
        #expect(snapshot.counters(of: .label(102))?.packets == 1)
    }

    @Test func pushOneLabelCopiesIPTTL() {
        let run = Run(snapshot, ip: F.udp(dst: [10, 9, 200, 1], ttl: 33))
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847) + F.entry(400, bottom: true, ttl: 33)
            + F.udp(dst: [10, 9, 200, 1], ttl: 33))
        #expect(snapshot.counters(of: .prefix(IPPrefix("10.9.0.0/16")!))?.packets == 1)
    }

    @Test func pushTakesTheLongestPrefixAndSeveralLabels() {
        let run = Run(snapshot, ip: F.udp(dst: [10, 9, 1, 7]))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847)
            + F.entry(401, bottom: false, ttl: 64) + F.entry(402, bottom: true, ttl: 64) + F.udp(dst: [10, 9, 1, 7]))
    }

    @Test func pushOfImplicitNullSendsPlainIP() {
        let run = Run(snapshot, ip: F.udp(dst: [10, 8, 0, 1]))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x0800) + F.udp(dst: [10, 8, 0, 1]))
    }

    @Test func pushWithoutHeadroomIsDropped() {
        let run = Run(snapshot, ip: F.udp(), headroom: 10)
        #expect(run.verdict == .drop(.noHeadroom))
    }

    @Test func unknownDestinationAndLabelsAreCounted() {
        #expect(Run(snapshot, ip: F.udp(dst: [10, 10, 0, 1])).verdict == .drop(.noEntry))
        #expect(Run(snapshot, labelled: F.labelled([999])).verdict == .drop(.noEntry))
        #expect(Run(snapshot, labelled: F.labelled([1])).verdict == .drop(.noEntry))
        #expect(Run(snapshot, labelled: F.labelled([3])).verdict == .drop(.noEntry))
        #expect(snapshot.drops(.noEntry) == 4)
    }

    @Test func missingNeighbourAsksForResolution() {
        let run = Run(snapshot, labelled: F.labelled([105]))
        #expect(run.verdict == .drop(.noNeighbor))
        #expect(run.workspace.unresolvedInterfaceSlot == 1)
        #expect(run.workspace.unresolvedAddress == IPv4Address("10.0.2.9")!.rawValue)
        #expect(snapshot.drops(.noNeighbor) == 1)
    }

    @Test func mtuWithoutDontFragmentIsDropped() {
        let run = Run(snapshot, labelled: F.labelled([104], payload: F.udp(payload: 1000 - 28)))
        #expect(run.verdict == .drop(.mtuExceeded))
        // Exactly the MTU passes.
        let fits = Run(snapshot, labelled: F.labelled([104], payload: F.udp(payload: 1000 - 28 - 4)))
        #expect(fits.verdict == .transmit(interfaceSlot: 2))
    }
}

@Suite struct MalformedFrameTests {
    let snapshot = F.snapshot()

    @Test(arguments: [
        (F.ethernet(type: 0x8847) + [0, 0x06], DropReason.runt),
        (F.ethernet(type: 0x8847) + F.entry(100, bottom: false, ttl: 64) + [0, 0], .truncatedLabelStack),
        (F.ethernet(type: 0x8847) + F.entry(100, bottom: false, ttl: 64) + F.entry(200, bottom: false, ttl: 64), .missingBottomOfStack),
        (F.ethernet(type: 0x8847) + (0..<17).flatMap { F.entry(100, bottom: $0 == 16, ttl: 64) }, .labelStackTooDeep),
        (F.ethernet(type: 0x8847) + F.entry(101, bottom: true, ttl: 64) + [0x10, 0], .unsupportedPayload),
        (F.ethernet(type: 0x8847) + F.entry(0, bottom: true, ttl: 64), .unsupportedPayload),
    ])
    func malformedFramesAreDroppedWithTheirReason(frame: [UInt8], reason: DropReason) {
        let run = Run(snapshot, labelled: frame)
        #expect(run.verdict == .drop(reason))
        #expect(reason.isMalformed)
        #expect(snapshot.drops(reason) == 1)
    }

    @Test func runtIPPacket() {
        #expect(Run(snapshot, ip: [0x45, 0, 0, 20]).verdict == .drop(.runt))
    }
}

@Suite struct ECMPTests {
    let snapshot = F.snapshot()

    func chosenSlot(_ label: UInt32, flow: Int) -> Int32? {
        let payload = F.udp(src: [172, 16, UInt8(flow >> 8 & 0xFF), UInt8(flow & 0xFF)], sport: UInt16(1024 + flow % 50000))
        let run = Run(snapshot, labelled: F.labelled([label], payload: payload))
        guard case .transmit = run.verdict else { return nil }
        return run.output[0..<6] == F.mac(F.peerB)[...] ? 0 : (run.output[0..<6] == F.mac(F.peerC)[...] ? 1 : 2)
    }

    @Test func sameFlowSameHop() {
        for flow in 0..<50 { #expect(chosenSlot(106, flow: flow) == chosenSlot(106, flow: flow)) }
    }

    @Test(arguments: [(UInt32(106), 2), (107, 3)])
    func spreadIsEvenWithinTenPercent(label: UInt32, hops: Int) {
        var counts = [Int](repeating: 0, count: hops)
        let flows = 10_000
        for flow in 0..<flows {
            guard let slot = chosenSlot(label, flow: flow) else { Issue.record("flow \(flow) not forwarded"); return }
            counts[Int(slot)] += 1
        }
        let share = Double(flows) / Double(hops)
        for count in counts { #expect(abs(Double(count) - share) <= share * 0.1, "counts \(counts)") }
    }

    @Test func portsAndIPv6AddressesMatter() {
        var seen = Set<[UInt8]>()
        for port in 0..<32 {
            let run = Run(snapshot, labelled: F.labelled([106], payload: F.tcp6(src: 7, dport: UInt16(1000 + port))))
            seen.insert(Array(run.output[0..<6]))
        }
        #expect(seen.count == 2)
    }
}

/// Each forwarding thread counts in its own lane; the control plane reads their sum.
@Suite struct CounterLaneTests {
    @Test func lanesCountApartAndAddUp() {
        let snapshot = ForwardingSnapshot(lfib: F.lfib, interfaces: F.interfaces, neighbors: F.neighbors,
                                          options: ForwardingOptions(localAddress: IPv4Address("192.0.2.99")!), lanes: 3)
        let bytes = F.labelled([100])
        for lane in [0, 2, 2] {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 16)
            defer { buffer.deallocate() }
            bytes.withUnsafeBytes { (buffer + 128).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var frame = Frame(base: buffer, capacity: 2048, start: 128, length: bytes.count)
            #expect(snapshot.forwardLabelled(&frame, ingressSlot: 0, workspace: ForwardingWorkspace(lane: lane)) == .transmit(interfaceSlot: 1))
            var unknown = Frame(base: buffer, capacity: 2048, start: 128, length: bytes.count)
            store32(buffer, 128 + 14, 999 << 12 | 0x100 | 64)
            #expect(snapshot.forwardLabelled(&unknown, ingressSlot: 0, workspace: ForwardingWorkspace(lane: lane)) == .drop(.noEntry))
        }
        #expect(snapshot.counters(of: .label(100))?.packets == 3)
        #expect(snapshot.counters(of: .label(100))?.bytes == UInt64(3 * (bytes.count - 14)))
        #expect(snapshot.drops(.noEntry) == 3)
        // Lane 1 never forwarded: its words stayed 0, so the lanes are really apart.
        #expect(snapshot.entryCounters[(1 * snapshot.keys.count + snapshot.slot(of: .label(100))!) * 2] == 0)
        #expect(snapshot.entryCounters[(2 * snapshot.keys.count + snapshot.slot(of: .label(100))!) * 2] == 2)
    }
}

/// The control plane finds an entry's slot (for its counters) the way packets find it.
@Suite struct SnapshotSlotTests {
    @Test func everyEntryHasItsOwnSlotAndNothingElseHasOne() {
        let snapshot = F.snapshot()
        let slots = F.lfib.entries.keys.map { snapshot.slot(of: $0) }
        #expect(slots.allSatisfy { $0 != nil })
        #expect(Set(slots.compactMap { $0 }).count == F.lfib.entries.count)
        for key in F.lfib.entries.keys { #expect(snapshot.keys[snapshot.slot(of: key)!] == key, "\(key)") }
        // Inside, beside and around the entries: no slot, although a longest match would find one.
        for key: LFIBKey in [.label(99), .label(108), .label(1 << 20 | 100), .prefix(IPPrefix("10.9.1.0/25")!),
                             .prefix(IPPrefix("10.9.0.0/17")!), .prefix(IPPrefix("10.0.0.0/8")!), .prefix(IPPrefix("0.0.0.0/0")!)] {
            #expect(snapshot.slot(of: key) == nil, "\(key)")
            #expect(snapshot.counters(of: key) == nil, "\(key)")
        }
    }
}

/// The FTN table against a plain longest-prefix scan, on random nested prefixes of every length.
@Suite struct PrefixTableTests {
    @Test(arguments: [1, 2, 3, 4, 5])
    func longestMatchAgreesWithAScan(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        // Around a few bases, so that prefixes nest and straddle the 16- and 24-bit strides.
        let bases: [UInt32] = [0x0A00_0000, 0x0A01_8000, 0xC0A8_0100, 0x0000_0000, 0xFFFF_FF00]
        var prefixes: Set<IPPrefix> = [IPPrefix("0.0.0.0/0")!]
        for _ in 0..<400 {
            let base = bases[Int.random(in: 0..<bases.count, using: &rng)]
            let address = base ^ UInt32.random(in: 0...0xFFFF, using: &rng) << UInt32.random(in: 0...16, using: &rng)
            let length = [1, 7, 8, 15, 16, 17, 23, 24, 25, 31, 32].randomElement(using: &rng)!
            prefixes.insert(IPPrefix(IPv4Address(rawValue: length == 0 ? 0 : address & UInt32.max << (32 - length)),
                                     length: UInt8(length)))
        }
        let lfib = LFIB(prefixes.map { F.ftn($0.description, [F.hop("10.0.2.2", "eth-b", [400])]) })
        let snapshot = F.snapshot(lfib: lfib)
        func scan(_ destination: UInt32) -> LFIBKey? {
            prefixes.filter { $0.contains(.v4(IPv4Address(rawValue: destination))) }.max { $0.length < $1.length }.map(LFIBKey.prefix)
        }
        for prefix in prefixes {
            guard case .v4(let network) = prefix.address else { continue }
            let size: UInt32 = prefix.length == 0 ? .max : (1 << (32 - UInt32(prefix.length))) - 1
            // Its first and last address, and the ones just outside.
            for destination in [network.rawValue, network.rawValue &+ size, network.rawValue &- 1, network.rawValue &+ size &+ 1] {
                #expect(snapshot.ftnEntry(for: IPv4Address(rawValue: destination)) == scan(destination), "\(IPv4Address(rawValue: destination))")
            }
            #expect(snapshot.slot(of: .prefix(prefix)).map { snapshot.keys[$0] } == .prefix(prefix))
        }
        for _ in 0..<2000 {
            let destination = bases.randomElement(using: &rng)! ^ UInt32.random(in: 0...0x3_FFFF, using: &rng)
            #expect(snapshot.ftnEntry(for: IPv4Address(rawValue: destination)) == scan(destination), "\(IPv4Address(rawValue: destination))")
        }
    }
}

/// IPv4 taken off a customer-facing interface before the kernel routed it: this node is the
/// router, so it checks the header and lowers the TTL itself; what it does not push goes to
/// the local stack unchanged.
@Suite struct IngressFrameTests {
    typealias F = Fixture
    let snapshot = F.snapshot()

    static func arriving(_ packet: [UInt8], padding: Int = 0) -> [UInt8] {
        F.ethernet(type: 0x0800) + packet + [UInt8](repeating: 0, count: padding)
    }

    @Test func pushLowersTheIPTTLAndCopiesItIntoTheLabel() {
        let run = Run(snapshot, arriving: Self.arriving(F.udp(dst: [10, 9, 200, 1], ttl: 33)))
        #expect(run.verdict == .transmit(interfaceSlot: 1))
        // The checksum is that of the packet built with TTL 32: the incremental update is exact.
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847) + F.entry(400, bottom: true, ttl: 32)
            + F.udp(dst: [10, 9, 200, 1], ttl: 32))
        #expect(snapshot.counters(of: .prefix(IPPrefix("10.9.0.0/16")!))?.packets == 1)
    }

    @Test func ethernetPaddingIsNotCarriedIntoTheLSP() {
        let packet = F.udp(dst: [10, 9, 1, 7], payload: 0)
        let run = Run(snapshot, arriving: Self.arriving(packet, padding: 46 - packet.count))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x8847)
            + F.entry(401, bottom: false, ttl: 63) + F.entry(402, bottom: true, ttl: 63) + F.udp(dst: [10, 9, 1, 7], ttl: 63, payload: 0))
    }

    @Test func implicitNullLeavesAsRoutedIP() {
        let run = Run(snapshot, arriving: Self.arriving(F.udp(dst: [10, 8, 0, 1], ttl: 2)))
        #expect(run.output == F.ethernet(dst: F.peerB, src: F.macB, type: 0x0800) + F.udp(dst: [10, 8, 0, 1], ttl: 1))
    }

    @Test(arguments: [
        F.udp(dst: [10, 10, 0, 1]),          // no FTN entry: the kernel routes it
        F.udp(dst: [10, 9, 0, 5], ttl: 1),   // ends here: the kernel sends time exceeded
        F.udp(dst: [10, 9, 0, 5], ttl: 0),
    ])
    func whatIsNotPushedGoesToTheLocalStackUntouched(packet: [UInt8]) {
        let run = Run(snapshot, arriving: Self.arriving(packet, padding: 6))
        #expect(run.verdict == .deliver)
        #expect(run.output == packet)
        #expect(DropReason.allCases.allSatisfy { snapshot.drops($0) == 0 })
    }

    @Test func tooBigWithDontFragmentIsAnsweredThroughTheLocalStack() throws {
        let run = Run(snapshot, arriving: Self.arriving(F.udp(dst: [10, 7, 0, 1], payload: 1000 - 28, dontFragment: true)))
        #expect(run.verdict == .deliver)
        #expect(run.output[9] == 1 && run.output[20] == 3 && run.output[21] == 4)
        #expect(snapshot.drops(.mtuExceeded) == 1)
    }

    @Test func badHeadersAreDroppedAndCounted() {
        var badChecksum = F.udp()
        badChecksum[10] ^= 0xFF
        var longerThanTheFrame = F.udp()
        longerThanTheFrame[3] = 200
        var shortHeader = F.udp()
        shortHeader[0] = 0x44
        for packet in [badChecksum, longerThanTheFrame, shortHeader] {
            #expect(Run(snapshot, arriving: Self.arriving(packet)).verdict == .drop(.badIPHeader))
        }
        #expect(snapshot.drops(.badIPHeader) == 3)
        #expect(Run(snapshot, arriving: F.ethernet(type: 0x0800) + [0x45, 0, 0]).verdict == .drop(.runt))
        #expect(Run(snapshot, arriving: F.ethernet(type: 0x86DD) + F.tcp6(src: 1, dport: 2)).verdict == .drop(.unsupportedPayload))
    }
}
