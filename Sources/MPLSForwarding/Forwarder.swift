// The forwarding decision: a function of (snapshot, frame) that rewrites the frame in place.
// RFC 3032 (label stack, TTL, ICMP in an LSP), RFC 3443 (TTL models), RFC 4950 (ICMP MPLS
// extension). No allocation, no locks, no reference counting on the packet path.

/// What to do with the frame after `forward…` rewrote it.
public enum Verdict: Equatable, Sendable {
    /// The frame is a whole Ethernet frame for the interface in this snapshot slot.
    case transmit(interfaceSlot: Int32)
    /// The frame is an IP packet (no link header) for the local stack: the TUN device.
    case deliver
    case drop(DropReason)
}

/// Per-thread scratch space and the side results of the last decision. Built once.
public final class ForwardingWorkspace {
    let scratch: UnsafeMutableRawPointer
    static let scratchSize = 1024
    /// Set when the last packet was dropped for want of a neighbour MAC: who to resolve.
    public internal(set) var unresolvedInterfaceSlot: Int32 = -1
    public internal(set) var unresolvedAddress: UInt32 = 0
    /// Set when the last verdict carries an ICMP error this node generated.
    public internal(set) var generatedICMP = false
    /// The counter lane of the thread that owns this workspace (see ForwardingSnapshot.lanes).
    public let lane: Int

    public init(lane: Int = 0) {
        self.lane = lane
        scratch = .allocate(byteCount: Self.scratchSize, alignment: 16)
    }

    deinit { scratch.deallocate() }

    @inline(__always) func reset() {
        unresolvedInterfaceSlot = -1
        generatedICMP = false
    }
}

extension ForwardingSnapshot {
    // MARK: Labelled frames (Ethernet, ethertype 0x8847)

    /// Forwards one labelled Ethernet frame that arrived on `ingressSlot`.
    public func forwardLabelled(_ frame: inout Frame, ingressSlot: Int32, workspace: ForwardingWorkspace) -> Verdict {
        workspace.reset()
        let p = frame.bytes
        let length = frame.length
        guard length >= ethernetHeaderLength + 4 else { return drop(.runt, workspace) }
        // RFC 3032 §2.1: find the bottom of stack before trusting anything.
        var depth = 0
        var offset = ethernetHeaderLength
        while true {
            if offset + 4 > length { return drop(offset == length ? .missingBottomOfStack : .truncatedLabelStack, workspace) }
            depth += 1
            if depth > Self.maximumStackDepth { return drop(.labelStackTooDeep, workspace) }
            let bottom = load8(p, offset + 2) & 1 == 1
            offset += 4
            if bottom { break }
        }
        let payload = offset
        var top = 0
        var entrySlot: Int32 = -1
        while true {
            let stackEntry = load32(p, ethernetHeaderLength + top * 4)
            let label = stackEntry >> 12
            let isBottom = top == depth - 1
            // RFC 3032 §2.1: explicit-null is popped and the rest looked up (or delivered).
            if label == 0 || label == 2 {
                let ttl = UInt8(truncatingIfNeeded: stackEntry)
                if isBottom {
                    guard payload < length else { return drop(.unsupportedPayload, workspace) }
                    if uniform { lowerIPTTL(p + payload, length - payload, to: ttl) }
                    frame.start += payload
                    frame.length -= payload
                    return .deliver
                }
                if uniform { lowerLabelTTL(p, ethernetHeaderLength + (top + 1) * 4, to: ttl) }
                top += 1
                continue
            }
            entrySlot = label < 16 ? -1 : self.entrySlot(label: label)
            guard entrySlot >= 0 else { return drop(.noEntry, workspace) }
            let entry = entries[Int(entrySlot)]
            guard entry.nextHopCount > 0 else { return drop(.noEntry, workspace) }
            let ttl = stackEntry & 0xFF
            let hopIndex = Int(entry.firstNextHop) + (entry.nextHopCount == 1 ? 0 :
                choose(among: Int(entry.nextHopCount), hash: flowHash(p, stackStart: ethernetHeaderLength + top * 4,
                                                                       payload: payload, length: length)))
            let hop = nextHops[hopIndex]
            // RFC 3032 §2.4.1: a TTL that would reach 0 is not forwarded.
            if ttl <= 1 {
                return timeExceeded(&frame, depth: depth, top: top, payload: payload, hop: hop,
                                    ingressSlot: ingressSlot, workspace: workspace)
            }
            let outTTL = ttl - 1
            let trafficClass = (stackEntry >> 9) & 7
            let pushCount = Int(hop.labelCount)
            let stackStart = ethernetHeaderLength + top * 4
            let newStackStart = stackStart + 4 - pushCount * 4
            if pushCount == 0 && hop.interfaceSlot == -1 {
                // This node is the egress for the label: pop and look at what is below.
                if isBottom {
                    guard payload < length else { return drop(.unsupportedPayload, workspace) }
                    if uniform { lowerIPTTL(p + payload, length - payload, to: UInt8(outTTL)) }
                    count(entrySlot, bytes: length - payload, workspace)
                    frame.start += payload
                    frame.length -= payload
                    return .deliver
                }
                if uniform { lowerLabelTTL(p, stackStart + 4, to: UInt8(outTTL)) }
                count(entrySlot, bytes: length - stackStart, workspace)
                top += 1
                continue
            }
            guard hop.interfaceSlot >= 0 else { return drop(.noNeighbor, workspace) }
            let interface = interfaces[Int(hop.interfaceSlot)]
            let outLength = length - newStackStart
            var etherType = EtherType.mplsUnicast
            if pushCount == 0 && isBottom {
                // PHP (RFC 3031 §3.16): what leaves is the bare payload.
                guard payload < length else { return drop(.unsupportedPayload, workspace) }
                switch load8(p, payload) >> 4 {
                case 4: etherType = EtherType.ipv4
                case 6: etherType = EtherType.ipv6
                default: return drop(.unsupportedPayload, workspace)
                }
            }
            if outLength > interface.mtu {
                return fragmentationNeeded(&frame, depth: depth, top: top, payload: payload, hop: hop,
                                           labelBytes: outLength - (length - payload), ingressSlot: ingressSlot,
                                           workspace: workspace)
            }
            guard hop.hasMAC else {
                workspace.unresolvedInterfaceSlot = hop.interfaceSlot
                workspace.unresolvedAddress = hop.address
                return drop(.noNeighbor, workspace)
            }
            guard frame.start + newStackStart - ethernetHeaderLength >= 0 else { return drop(.noHeadroom, workspace) }
            // Rewrite: the top entry is replaced by the hop's labels (none for a pop).
            if pushCount == 0 {
                if isBottom {
                    if uniform { lowerIPTTL(p + payload, length - payload, to: UInt8(outTTL)) }
                } else if uniform {
                    lowerLabelTTL(p, stackStart + 4, to: UInt8(outTTL))
                }
            } else {
                for index in 0..<pushCount {
                    let value = labels[Int(hop.labelOffset) + index]
                    store32(p, newStackStart + index * 4,
                            labelStackEntry(label: value, trafficClass: trafficClass,
                                            bottom: isBottom && index == pushCount - 1, ttl: outTTL))
                }
            }
            let headerStart = newStackStart - ethernetHeaderLength
            storeMAC(p, headerStart, hop.mac)
            storeMAC(p, headerStart + 6, interface.mac)
            store16(p, headerStart + 12, etherType)
            frame.start += headerStart
            frame.length = length - headerStart
            count(entrySlot, bytes: outLength, workspace)
            return .transmit(interfaceSlot: hop.interfaceSlot)
        }
    }

    // MARK: IP packets from the local stack (FTN push at ingress)

    /// Forwards one IP packet (no link header) read from the TUN device: FTN lookup and push.
    public func forwardIP(_ frame: inout Frame, workspace: ForwardingWorkspace) -> Verdict {
        workspace.reset()
        let p = frame.bytes
        let length = frame.length
        guard length >= 20 else { return drop(.runt, workspace) }
        guard load8(p, 0) >> 4 == 4 else { return drop(.noEntry, workspace) }
        let headerLength = Int(load8(p, 0) & 0xF) * 4
        guard headerLength >= 20, headerLength <= length, Int(load16(p, 2)) <= length else { return drop(.unsupportedPayload, workspace) }
        let slot = entrySlot(destination: load32(p, 16))
        guard slot >= 0, entries[Int(slot)].nextHopCount > 0 else { return drop(.noEntry, workspace) }
        // The kernel routed the packet into the TUN and already decremented its TTL.
        guard load8(p, 8) > 0 else { return drop(.ttlExpired, workspace) }
        return push(&frame, entrySlot: slot, workspace: workspace)
    }

    /// Forwards one Ethernet frame of IPv4 that arrived on a customer-facing interface addressed
    /// to this router, before the kernel saw it: FTN lookup and push, as the kernel's route into
    /// the TUN would have led to. `.deliver` hands the IP packet (link header gone) to the local
    /// stack, which routes or delivers what no FTN entry covers, and answers a TTL that ends here.
    public func forwardIngressFrame(_ frame: inout Frame, workspace: ForwardingWorkspace) -> Verdict {
        workspace.reset()
        guard frame.length >= ethernetHeaderLength + 20 else { return drop(.runt, workspace) }
        guard load16(frame.bytes, 12) == EtherType.ipv4 else { return drop(.unsupportedPayload, workspace) }
        frame.start += ethernetHeaderLength
        frame.length -= ethernetHeaderLength
        let p = frame.bytes
        let headerLength = Int(load8(p, 0) & 0xF) * 4
        let totalLength = Int(load16(p, 2))
        // RFC 1812 §5.2.2: a router checks version, header length, total length and checksum.
        guard load8(p, 0) >> 4 == 4, headerLength >= 20, headerLength <= totalLength, totalLength <= frame.length,
              internetChecksum(p, 0, headerLength) == 0 else {
            return drop(.badIPHeader, workspace)
        }
        // Ethernet pads short packets: the IP header says where this one ends.
        frame.length = totalLength
        let slot = entrySlot(destination: load32(p, 16))
        let ttl = load8(p, 8)
        guard slot >= 0, entries[Int(slot)].nextHopCount > 0, ttl > 1 else { return .deliver }
        // This node routes it: one hop less (RFC 1812 §5.3.1), checksum updated in place.
        lowerIPTTL(p, totalLength, to: ttl - 1)
        return push(&frame, entrySlot: slot, workspace: workspace)
    }

    /// Pushes the FTN entry's labels (or none: implicit-null) onto the IP packet in `frame` and
    /// puts an Ethernet header in front, for one next hop chosen by flow hash.
    @inline(__always)
    func push(_ frame: inout Frame, entrySlot slot: Int32, workspace: ForwardingWorkspace) -> Verdict {
        let p = frame.bytes
        let length = frame.length
        let entry = entries[Int(slot)]
        let hopIndex = Int(entry.firstNextHop) + (entry.nextHopCount == 1 ? 0 :
            choose(among: Int(entry.nextHopCount), hash: flowHash(p, stackStart: 0, payload: 0, length: length)))
        let hop = nextHops[hopIndex]
        guard hop.interfaceSlot >= 0 else { return drop(.noNeighbor, workspace) }
        let ipTTL = UInt32(load8(p, 8))
        let interface = interfaces[Int(hop.interfaceSlot)]
        let pushCount = Int(hop.labelCount)
        if length + pushCount * 4 > interface.mtu {
            guard load16(p, 6) & 0x4000 != 0 else { return drop(.mtuExceeded, workspace) }
            // RFC 1191 back to the source through the local stack, MTU less the labels.
            _ = drop(.mtuExceeded, workspace)
            return buildICMP(&frame, type: 3, code: 4, mtu: UInt16(clamping: interface.mtu - pushCount * 4),
                             receivedStack: 0, stackCount: 0, original: 0, originalLength: length,
                             source: localAddress, route: nil, workspace: workspace)
        }
        guard hop.hasMAC else {
            workspace.unresolvedInterfaceSlot = hop.interfaceSlot
            workspace.unresolvedAddress = hop.address
            return drop(.noNeighbor, workspace)
        }
        let headerStart = -pushCount * 4 - ethernetHeaderLength
        guard frame.start + headerStart >= 0 else { return drop(.noHeadroom, workspace) }
        let labelTTL = uniform ? ipTTL : 255
        for index in 0..<pushCount {
            store32(p, -pushCount * 4 + index * 4,
                    labelStackEntry(label: labels[Int(hop.labelOffset) + index], trafficClass: 0,
                                    bottom: index == pushCount - 1, ttl: labelTTL))
        }
        storeMAC(p, headerStart, hop.mac)
        storeMAC(p, headerStart + 6, interface.mac)
        store16(p, headerStart + 12, pushCount == 0 ? EtherType.ipv4 : EtherType.mplsUnicast)
        frame.start += headerStart
        frame.length = length - headerStart
        count(slot, bytes: length + pushCount * 4, workspace)
        return .transmit(interfaceSlot: hop.interfaceSlot)
    }

    // MARK: TTL (RFC 3443)

    /// Uniform model on pop: the IP TTL becomes min(IP TTL, label TTL), checksum fixed in place.
    @inline(__always) func lowerIPTTL(_ ip: UnsafeMutableRawPointer, _ length: Int, to ttl: UInt8) {
        switch load8(ip, 0) >> 4 {
        case 4 where length >= 20:
            let old = load8(ip, 8)
            guard ttl < old else { return }
            let oldWord = load16(ip, 8)
            let newWord = UInt16(ttl) << 8 | (oldWord & 0xFF)
            store16(ip, 8, newWord)
            store16(ip, 10, adjustedChecksum(load16(ip, 10), old: oldWord, new: newWord))
        case 6 where length >= 40:
            if ttl < load8(ip, 7) { store8(ip, 7, ttl) }
        default:
            break
        }
    }

    @inline(__always) func lowerLabelTTL(_ p: UnsafeMutableRawPointer, _ offset: Int, to ttl: UInt8) {
        if ttl < load8(p, offset + 3) { store8(p, offset + 3, ttl) }
    }

    // MARK: ECMP

    /// A flow hash over the label stack and the inner IPv4/IPv6 addresses, protocol and ports.
    @inline(__always) func flowHash(_ p: UnsafeMutableRawPointer, stackStart: Int, payload: Int, length: Int) -> UInt64 {
        var hash: UInt64 = 0x243F_6A88_85A3_08D3
        var offset = stackStart
        while offset < payload {
            hash = mix(hash, UInt64(load32(p, offset) >> 12))
            offset += 4
        }
        let remaining = length - payload
        guard remaining >= 1 else { return finalize(hash) }
        let ip = p + payload
        var transport = -1
        var proto: UInt8 = 0
        switch load8(ip, 0) >> 4 {
        case 4 where remaining >= 20:
            proto = load8(ip, 9)
            hash = mix(hash, UInt64(load32(ip, 12)) << 32 | UInt64(load32(ip, 16)))
            hash = mix(hash, UInt64(proto))
            // Only first fragments (offset 0, whatever MF says... but not later ones) carry ports.
            if load16(ip, 6) & 0x3FFF == 0 { transport = Int(load8(ip, 0) & 0xF) * 4 }
        case 6 where remaining >= 40:
            proto = load8(ip, 6)
            hash = mix(hash, load64(ip, 8))
            hash = mix(hash, load64(ip, 16))
            hash = mix(hash, load64(ip, 24))
            hash = mix(hash, load64(ip, 32))
            hash = mix(hash, UInt64(proto))
            transport = 40
        default:
            return finalize(hash)
        }
        if transport >= 0, proto == 6 || proto == 17 || proto == 132, transport + 4 <= remaining {
            hash = mix(hash, UInt64(load32(ip, transport)))
        }
        return finalize(hash)
    }

    @inline(__always) func mix(_ hash: UInt64, _ value: UInt64) -> UInt64 {
        (hash ^ value) &* 0x9E37_79B9_7F4A_7C15 ^ ((hash ^ value) >> 29)
    }

    /// splitmix64's finalizer: every input bit reaches every output bit.
    @inline(__always) func finalize(_ value: UInt64) -> UInt64 {
        var x = value
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return x ^ (x >> 31)
    }

    /// Multiply-shift instead of modulo: even spread, no division.
    @inline(__always) func choose(among count: Int, hash: UInt64) -> Int {
        Int((UInt64(UInt32(truncatingIfNeeded: hash >> 32)) &* UInt64(count)) >> 32)
    }
}
