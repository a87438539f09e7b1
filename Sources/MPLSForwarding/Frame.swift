// A packet in a caller-owned buffer with headroom, and the byte helpers the hot path uses.
// Everything here is unsafe raw memory on purpose: no Array, no ARC, no allocation per packet.

/// A packet at `base + start ..< base + start + length` inside a buffer of `capacity` octets.
/// Pushing labels moves `start` back into the headroom; popping moves it forward.
public struct Frame {
    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    public var start: Int
    public var length: Int

    public init(base: UnsafeMutableRawPointer, capacity: Int, start: Int, length: Int) {
        precondition(start >= 0 && length >= 0 && start + length <= capacity)
        self.base = base
        self.capacity = capacity
        self.start = start
        self.length = length
    }

    @inline(__always) var bytes: UnsafeMutableRawPointer { base + start }
}

/// Ethertypes the forwarder reads and writes.
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let ipv6: UInt16 = 0x86DD
    public static let mplsUnicast: UInt16 = 0x8847
}

/// Octets of an Ethernet II header (no VLAN tag: LDP interfaces here are untagged).
let ethernetHeaderLength = 14

@inline(__always) func load8(_ p: UnsafeMutableRawPointer, _ offset: Int) -> UInt8 {
    p.load(fromByteOffset: offset, as: UInt8.self)
}

@inline(__always) func load16(_ p: UnsafeMutableRawPointer, _ offset: Int) -> UInt16 {
    UInt16(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}

@inline(__always) func load32(_ p: UnsafeMutableRawPointer, _ offset: Int) -> UInt32 {
    UInt32(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

@inline(__always) func load64(_ p: UnsafeMutableRawPointer, _ offset: Int) -> UInt64 {
    UInt64(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}

@inline(__always) func store8(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt8) {
    p.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
}

@inline(__always) func store16(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt16) {
    p.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
}

@inline(__always) func store32(_ p: UnsafeMutableRawPointer, _ offset: Int, _ value: UInt32) {
    p.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
}

/// Writes a 48-bit MAC kept in the low bits of a UInt64.
@inline(__always) func storeMAC(_ p: UnsafeMutableRawPointer, _ offset: Int, _ mac: UInt64) {
    store16(p, offset, UInt16(truncatingIfNeeded: mac >> 32))
    store32(p, offset + 2, UInt32(truncatingIfNeeded: mac))
}

/// RFC 1071 Internet checksum over `length` octets.
func internetChecksum(_ p: UnsafeMutableRawPointer, _ offset: Int, _ length: Int) -> UInt16 {
    var sum: UInt32 = 0
    var index = 0
    while index + 1 < length {
        sum &+= UInt32(load16(p, offset + index))
        index += 2
    }
    if index < length { sum &+= UInt32(load8(p, offset + index)) << 8 }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) &+ (sum >> 16) }
    return ~UInt16(truncatingIfNeeded: sum)
}

/// RFC 1624 eqn. 3: the checksum after one 16-bit word of the header changed.
@inline(__always) func adjustedChecksum(_ checksum: UInt16, old: UInt16, new: UInt16) -> UInt16 {
    var sum = UInt32(~checksum) &+ UInt32(~old) &+ UInt32(new)
    sum = (sum & 0xFFFF) &+ (sum >> 16)
    sum = (sum & 0xFFFF) &+ (sum >> 16)
    return ~UInt16(truncatingIfNeeded: sum)
}

/// RFC 3032 §2.1 label stack entry: label (20) | TC (3) | S (1) | TTL (8).
@inline(__always) func labelStackEntry(label: UInt32, trafficClass: UInt32, bottom: Bool, ttl: UInt32) -> UInt32 {
    label << 12 | (trafficClass & 7) << 9 | (bottom ? 0x100 : 0) | (ttl & 0xFF)
}
