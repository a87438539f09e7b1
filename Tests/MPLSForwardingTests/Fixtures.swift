// Frame builders and a harness that runs one frame through a snapshot.

import LDPCodec
import MPLSTables
@testable import MPLSForwarding

enum Fixture {
    static let macA: UInt64 = 0x02_00_00_00_00_0A
    static let macB: UInt64 = 0x02_00_00_00_00_0B
    static let macC: UInt64 = 0x02_00_00_00_00_0C
    static let peerB: UInt64 = 0x02_00_00_00_01_0B
    static let peerC: UInt64 = 0x02_00_00_00_01_0C
    static let peerC2: UInt64 = 0x02_00_00_00_02_0C
    static let peerA: UInt64 = 0x02_00_00_00_01_0A

    static let interfaces = [
        ForwardingInterface(name: "eth-a", index: 2, mac: macA, mtu: 1500, ipv4Address: IPv4Address("10.0.1.1")),
        ForwardingInterface(name: "eth-b", index: 3, mac: macB, mtu: 1500, ipv4Address: IPv4Address("10.0.2.1")),
        ForwardingInterface(name: "eth-c", index: 4, mac: macC, mtu: 1000, ipv4Address: IPv4Address("10.0.3.1")),
    ]
    static let neighbors = [
        ForwardingNeighbor(interfaceIndex: 3, address: IPv4Address("10.0.2.2")!, mac: peerB),
        ForwardingNeighbor(interfaceIndex: 4, address: IPv4Address("10.0.3.2")!, mac: peerC),
        ForwardingNeighbor(interfaceIndex: 4, address: IPv4Address("10.0.3.3")!, mac: peerC2),
        ForwardingNeighbor(interfaceIndex: 2, address: IPv4Address("10.0.1.2")!, mac: peerA),
    ]

    static func hop(_ address: String, _ interface: String, _ labels: [UInt32]) -> LFIBNextHop {
        LFIBNextHop(address: IPAddress(address), interface: interface, outLabels: labels)
    }

    static func label(_ label: UInt32, _ hops: [LFIBNextHop]) -> LFIBEntry {
        LFIBEntry(key: .label(label), fec: IPPrefix("192.0.2.1/32")!, nextHops: hops)
    }

    static func ftn(_ prefix: String, _ hops: [LFIBNextHop]) -> LFIBEntry {
        LFIBEntry(key: .prefix(IPPrefix(prefix)!), fec: IPPrefix(prefix)!, nextHops: hops)
    }

    /// The LFIB most tests use.
    static let lfib = LFIB([
        label(100, [hop("10.0.2.2", "eth-b", [200])]),
        label(101, [hop("10.0.2.2", "eth-b", [3])]),
        label(102, [LFIBNextHop(address: nil, interface: "tun0", outLabels: [3])]),
        label(103, [hop("10.0.2.2", "eth-b", [200, 300])]),
        label(104, [hop("10.0.3.2", "eth-c", [204])]),
        label(105, [hop("10.0.2.9", "eth-b", [205])]),
        label(106, [hop("10.0.2.2", "eth-b", [206]), hop("10.0.3.2", "eth-c", [207])]),
        label(107, [hop("10.0.2.2", "eth-b", [206]), hop("10.0.3.2", "eth-c", [207]), hop("10.0.3.3", "eth-c", [208])]),
        label(0xFFFFF, [hop("10.0.2.2", "eth-b", [16])]),
        ftn("10.9.0.0/16", [hop("10.0.2.2", "eth-b", [400])]),
        ftn("10.9.1.0/24", [hop("10.0.2.2", "eth-b", [401, 402])]),
        ftn("10.8.0.0/16", [hop("10.0.2.2", "eth-b", [3])]),
        ftn("10.7.0.0/16", [hop("10.0.3.2", "eth-c", [407])]),
    ])

    static func snapshot(_ model: TTLModel = .uniform, lfib: LFIB = Fixture.lfib) -> ForwardingSnapshot {
        ForwardingSnapshot(lfib: lfib, interfaces: interfaces, neighbors: neighbors,
                           options: ForwardingOptions(ttlModel: model, localAddress: IPv4Address("192.0.2.99")!,
                                                      localInterfaces: ["tun0"]))
    }

    // MARK: Bytes

    static func mac(_ value: UInt64) -> [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: value >> (40 - 8 * UInt64($0))) } }

    static func ethernet(dst: UInt64 = macA, src: UInt64 = peerA, type: UInt16) -> [UInt8] {
        mac(dst) + mac(src) + [UInt8(type >> 8), UInt8(type & 0xFF)]
    }

    static func entry(_ label: UInt32, tc: UInt32 = 0, bottom: Bool, ttl: UInt32) -> [UInt8] {
        let value = label << 12 | tc << 9 | (bottom ? 0x100 : 0) | ttl
        return [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    /// A label stack, outermost first, S set on the last; `ttls` default to 64.
    static func stack(_ labels: [UInt32], ttl: UInt32 = 64, tc: UInt32 = 0) -> [UInt8] {
        labels.enumerated().flatMap { entry($1, tc: tc, bottom: $0 == labels.count - 1, ttl: ttl) }
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        if index < bytes.endIndex { sum += UInt32(bytes[index]) << 8 }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    /// IPv4/UDP with a correct header checksum.
    static func udp(src: [UInt8] = [172, 16, 1, 10], dst: [UInt8] = [10, 9, 0, 5], ttl: UInt8 = 64,
                    sport: UInt16 = 40000, dport: UInt16 = 53, payload: Int = 12, dontFragment: Bool = false) -> [UInt8] {
        let total = 20 + 8 + payload
        var ip: [UInt8] = [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF), 0x12, 0x34, dontFragment ? 0x40 : 0, 0, ttl, 17, 0, 0]
        ip += src + dst
        let sum = checksum(ip[...])
        ip[10] = UInt8(sum >> 8)
        ip[11] = UInt8(sum & 0xFF)
        let udpLength = 8 + payload
        ip += [UInt8(sport >> 8), UInt8(sport & 0xFF), UInt8(dport >> 8), UInt8(dport & 0xFF),
               UInt8(udpLength >> 8), UInt8(udpLength & 0xFF), 0, 0]
        ip += (0..<payload).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        return ip
    }

    static func tcp6(src: UInt16, dport: UInt16) -> [UInt8] {
        var ip: [UInt8] = [0x60, 0, 0, 0, 0, 20, 6, 64]
        ip += [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 10) + [UInt8(src >> 8), UInt8(src & 0xFF)]
        ip += [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
        ip += [0x9c, 0x40, UInt8(dport >> 8), UInt8(dport & 0xFF)] + [UInt8](repeating: 0, count: 16)
        return ip
    }

    static func labelled(_ labels: [UInt32], ttl: UInt32 = 64, tc: UInt32 = 0, payload: [UInt8] = udp()) -> [UInt8] {
        ethernet(type: 0x8847) + stack(labels, ttl: ttl, tc: tc) + payload
    }
}

/// One frame through one decision, with a buffer of 2 KiB and 128 octets of headroom.
struct Run {
    var verdict: Verdict
    var output: [UInt8]
    var workspace: ForwardingWorkspace

    init(_ snapshot: ForwardingSnapshot, labelled bytes: [UInt8], ingress: Int32 = 0, headroom: Int = 128) {
        self.init(snapshot, bytes, headroom: headroom) { snapshot.forwardLabelled(&$0, ingressSlot: ingress, workspace: $1) }
    }

    init(_ snapshot: ForwardingSnapshot, ip bytes: [UInt8], headroom: Int = 128) {
        self.init(snapshot, bytes, headroom: headroom) { snapshot.forwardIP(&$0, workspace: $1) }
    }

    /// An Ethernet frame as it arrived on a customer-facing interface.
    init(_ snapshot: ForwardingSnapshot, arriving bytes: [UInt8], headroom: Int = 128) {
        self.init(snapshot, bytes, headroom: headroom) { snapshot.forwardIngressFrame(&$0, workspace: $1) }
    }

    init(_ snapshot: ForwardingSnapshot, _ bytes: [UInt8], headroom: Int,
         _ decide: (inout Frame, ForwardingWorkspace) -> Verdict) {
        let capacity = 2048
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xEE, count: capacity)
        bytes.withUnsafeBytes { (buffer + headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var frame = Frame(base: buffer, capacity: capacity, start: headroom, length: bytes.count)
        workspace = ForwardingWorkspace()
        verdict = decide(&frame, workspace)
        output = Array(UnsafeRawBufferPointer(start: frame.base + frame.start, count: frame.length))
    }
}
