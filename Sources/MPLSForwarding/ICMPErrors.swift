// ICMP errors generated inside an LSP. RFC 3032 §2.3.2: an LSR that cannot route back to the
// source sends the ICMP message onward along the same LSP; the egress routes it back. The
// message carries the received label stack as an RFC 4950 extension object (RFC 4884 layout).
// This is the slow path: it copies, but still allocates nothing.

/// Where a generated ICMP message leaves: along the LSP (the hop's labels, then the labels that
/// were below the top) or, without a usable hop, to the local stack.
struct ICMPRoute {
    var hop: NextHopRecord
    var innerOffset: Int
    var innerCount: Int
}

extension ForwardingSnapshot {
    static let quotedOctets = 128
    static let icmpErrorTypes: Set<UInt8> = [3, 4, 5, 11, 12]

    func icmpSource(ingressSlot: Int32) -> UInt32 {
        guard ingressSlot >= 0, Int(ingressSlot) < interfaceIndices.count else { return localAddress }
        let address = interfaces[Int(ingressSlot)].ipv4
        return address != 0 ? address : localAddress
    }

    func usableRoute(_ hop: NextHopRecord, innerOffset: Int, innerCount: Int) -> ICMPRoute? {
        guard hop.interfaceSlot >= 0, hop.hasMAC else { return nil }
        return ICMPRoute(hop: hop, innerOffset: innerOffset, innerCount: innerCount)
    }

    @inline(never)
    func timeExceeded(_ frame: inout Frame, depth: Int, top: Int, payload: Int, hop: NextHopRecord,
                      ingressSlot: Int32, workspace: ForwardingWorkspace) -> Verdict {
        _ = drop(.ttlExpired, workspace)
        let innerOffset = ethernetHeaderLength + (top + 1) * 4
        return buildICMP(&frame, type: 11, code: 0, mtu: 0, receivedStack: ethernetHeaderLength, stackCount: depth,
                         original: payload, originalLength: frame.length - payload, source: icmpSource(ingressSlot: ingressSlot),
                         route: usableRoute(hop, innerOffset: innerOffset, innerCount: depth - top - 1), workspace: workspace)
    }

    /// RFC 3032 §3.2: the MTU reported is the egress MTU less the labels that would be added.
    @inline(never)
    func fragmentationNeeded(_ frame: inout Frame, depth: Int, top: Int, payload: Int, hop: NextHopRecord,
                             labelBytes: Int, ingressSlot: Int32, workspace: ForwardingWorkspace) -> Verdict {
        _ = drop(.mtuExceeded, workspace)
        let p = frame.bytes
        let length = frame.length
        guard payload + 20 <= length, load8(p, payload) >> 4 == 4, load16(p, payload + 6) & 0x4000 != 0 else {
            return .drop(.mtuExceeded)
        }
        let mtu = interfaces[Int(hop.interfaceSlot)].mtu - labelBytes
        let innerOffset = ethernetHeaderLength + (top + 1) * 4
        return buildICMP(&frame, type: 3, code: 4, mtu: UInt16(clamping: max(mtu, 0)), receivedStack: ethernetHeaderLength,
                         stackCount: depth, original: payload, originalLength: length - payload,
                         source: icmpSource(ingressSlot: ingressSlot),
                         route: usableRoute(hop, innerOffset: innerOffset, innerCount: depth - top - 1), workspace: workspace)
    }

    /// Replaces the frame with an ICMPv4 error about the IPv4 datagram at `original`. The caller
    /// has counted the drop; a datagram that may not get an error (RFC 1122 §3.2.2) is just dropped.
    func buildICMP(_ frame: inout Frame, type: UInt8, code: UInt8, mtu: UInt16, receivedStack: Int, stackCount: Int,
                   original: Int, originalLength: Int, source: UInt32, route: ICMPRoute?,
                   workspace: ForwardingWorkspace) -> Verdict {
        let reason: DropReason = type == 11 ? .ttlExpired : .mtuExceeded
        let p = frame.bytes
        guard originalLength >= 20, load8(p, original) >> 4 == 4 else { return .drop(reason) }
        let headerLength = Int(load8(p, original) & 0xF) * 4
        // No errors about errors, nor about later fragments.
        if load16(p, original + 6) & 0x1FFF != 0 { return .drop(reason) }
        if load8(p, original + 9) == 1, headerLength + 1 <= originalLength,
           Self.icmpErrorTypes.contains(load8(p, original + headerLength)) {
            return .drop(reason)
        }
        let destination = load32(p, original + 12)

        // Keep what the message quotes before the frame is overwritten.
        let scratch = workspace.scratch
        let quoteLength = min(originalLength, Self.quotedOctets)
        let innerCount = route?.innerCount ?? 0
        scratch.copyMemory(from: p + receivedStack, byteCount: stackCount * 4)
        (scratch + 64).copyMemory(from: p + original, byteCount: quoteLength)
        if let route { (scratch + 192).copyMemory(from: p + route.innerOffset, byteCount: innerCount * 4) }

        // RFC 4884 §4.1: with extensions the original datagram is padded to 128 octets.
        let withExtension = stackCount > 0
        let quoteField = withExtension ? Self.quotedOctets : quoteLength
        let extensionLength = withExtension ? 8 + stackCount * 4 : 0
        let icmpLength = 8 + quoteField + extensionLength
        let ipLength = 20 + icmpLength
        let labelCount = route.map { Int($0.hop.labelCount) + innerCount } ?? 0
        let linkLength = route == nil ? 0 : ethernetHeaderLength + labelCount * 4
        guard linkLength + ipLength <= frame.capacity else { return .drop(reason) }

        let base = frame.base
        let ip = linkLength
        store16(base, ip, 0x4500)
        store16(base, ip + 2, UInt16(ipLength))
        store32(base, ip + 4, 0)
        store16(base, ip + 8, 64 << 8 | 1)
        store16(base, ip + 10, 0)
        store32(base, ip + 12, source)
        store32(base, ip + 16, destination)
        store16(base, ip + 10, internetChecksum(base, ip, 20))

        let icmp = ip + 20
        store8(base, icmp, type)
        store8(base, icmp + 1, code)
        store16(base, icmp + 2, 0)
        store8(base, icmp + 4, 0)
        // RFC 4884 §5.1: the quoted datagram's length in 32-bit words, when extensions follow.
        store8(base, icmp + 5, withExtension ? UInt8(quoteField / 4) : 0)
        store16(base, icmp + 6, mtu)
        (base + icmp + 8).copyMemory(from: scratch + 64, byteCount: quoteLength)
        if quoteField > quoteLength { (base + icmp + 8 + quoteLength).initializeMemory(as: UInt8.self, repeating: 0, count: quoteField - quoteLength) }
        if withExtension {
            // RFC 4884 §7 extension header, then RFC 4950 §2.1 object: class 1, C-type 1.
            let header = icmp + 8 + quoteField
            store16(base, header, 0x2000)
            store16(base, header + 2, 0)
            store16(base, header + 4, UInt16(4 + stackCount * 4))
            store8(base, header + 6, 1)
            store8(base, header + 7, 1)
            (base + header + 8).copyMemory(from: scratch, byteCount: stackCount * 4)
            store16(base, header + 2, internetChecksum(base, header, extensionLength))
        }
        store16(base, icmp + 2, internetChecksum(base, icmp, icmpLength))

        icmpCounters[workspace.lane] &+= 1
        workspace.generatedICMP = true
        guard let route else {
            frame.start = 0
            frame.length = ipLength
            return .deliver
        }
        let hopLabels = Int(route.hop.labelCount)
        for index in 0..<labelCount {
            let label = index < hopLabels ? labels[Int(route.hop.labelOffset) + index]
                                          : load32(scratch + 192, (index - hopLabels) * 4) >> 12
            store32(base, ethernetHeaderLength + index * 4,
                    labelStackEntry(label: label, trafficClass: 0, bottom: index == labelCount - 1, ttl: 255))
        }
        let interface = interfaces[Int(route.hop.interfaceSlot)]
        storeMAC(base, 0, route.hop.mac)
        storeMAC(base, 6, interface.mac)
        store16(base, 12, labelCount == 0 ? EtherType.ipv4 : EtherType.mplsUnicast)
        frame.start = 0
        frame.length = linkLength + ipLength
        return .transmit(interfaceSlot: route.hop.interfaceSlot)
    }
}
